package vuln

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/mamori-dev/mamori/internal/sbom"
)

// Package is a component reduced to what matching needs: its OSV
// ecosystem, name and version.
type Package struct {
	Ecosystem string // OSV base ecosystem: Go, npm, PyPI, Maven, crates.io, Debian…
	// Release scopes the package: the distribution release for OS
	// packages ("12" for Debian 12, "v3.18" for Alpine 3.18, "22.04" for
	// Ubuntu) or the repository URL for registries with mirrors (Maven,
	// Packagist). Empty when unknown or the default registry.
	Release string
	Name    string // the package name as OSV writes it (Go module path, @scope/name, group:artifact…)
	Version string // as the SBOM gives it
	PURL    string
	Ref     string // the SBOM component's ref, for reporting; not part of identity
}

// Key is the index key of a package: its ecosystem and its name
// normalised by that ecosystem's rules.
type Key struct {
	Ecosystem string
	Name      string
}

// Key returns p's index key.
func (p Package) Key() Key { return Key{p.Ecosystem, normalizeName(p.Ecosystem, p.Name)} }

// Skip says why a component could not be matched.
type Skip struct {
	Ref, Name, PURL string
	Reason          string
}

// Packages turns an SBOM's components into packages to match. A component
// without a package URL, or whose purl type has no OSV ecosystem, is
// returned in skipped with the reason; the document's subject (what the
// SBOM describes) is not a dependency and is not matched.
func Packages(doc *sbom.Document) (pkgs []Package, skipped []Skip) {
	pkgs = make([]Package, 0, len(doc.Components))
	for _, c := range doc.Components {
		if c.PURL == "" {
			skipped = append(skipped, Skip{Ref: c.Ref, Name: c.Name, Reason: "no package URL"})
			continue
		}
		p, err := PackageFromPURL(c.PURL)
		if err != nil {
			skipped = append(skipped, Skip{Ref: c.Ref, Name: c.Name, PURL: c.PURL, Reason: err.Error()})
			continue
		}
		if p.Version == "" {
			p.Version = c.Version
		}
		p.Ref = c.Ref
		pkgs = append(pkgs, p)
	}
	return pkgs, skipped
}

// ErrUnsupported is wrapped by PackageFromPURL for purl types that have
// no OSV ecosystem mamori matches.
var ErrUnsupported = fmt.Errorf("package type has no OSV ecosystem")

var goMajorSubpath = regexp.MustCompile(`^v[0-9]+$`)

// PackageFromPURL maps a package URL to its OSV ecosystem, name and
// version, following each ecosystem's naming rules (see
// docs/vulnerability-matching.md).
func PackageFromPURL(purl string) (Package, error) {
	u, err := packageurl.FromString(purl)
	if err != nil {
		return Package{}, fmt.Errorf("invalid package URL: %w", err)
	}
	q := u.Qualifiers.Map()
	p := Package{PURL: purl, Name: u.Name, Version: u.Version}
	withNS := func(sep string) {
		if u.Namespace != "" {
			p.Name = u.Namespace + sep + u.Name
		}
	}
	switch u.Type {
	case packageurl.TypeGolang:
		p.Ecosystem = "Go"
		// packageurl-go lower-cases golang paths, but Go module paths are
		// case-sensitive (github.com/BurntSushi/toml), so read them raw.
		path, version := rawPath(purl)
		p.Name, p.Version = path, version
		switch p.Name {
		case "stdlib", "std", "go", "golang.org/go":
			p.Name = "stdlib"
			p.Version = goToolchainVersion(p.Version)
		case "toolchain":
			p.Name = "toolchain"
			p.Version = goToolchainVersion(p.Version)
		}
		if sp := strings.Trim(u.Subpath, "/"); goMajorSubpath.MatchString(sp) && !strings.HasSuffix(p.Name, "/"+sp) {
			p.Name += "/" + sp
		}
	case packageurl.TypeNPM:
		p.Ecosystem = "npm"
		withNS("/")
	case packageurl.TypePyPi:
		p.Ecosystem = "PyPI"
	case packageurl.TypeMaven:
		p.Ecosystem = "Maven"
		withNS(":")
		p.Release = strings.TrimRight(q["repository_url"], "/")
	case packageurl.TypeCargo:
		p.Ecosystem = "crates.io"
	case packageurl.TypeGem:
		p.Ecosystem = "RubyGems"
	case packageurl.TypeNuget:
		p.Ecosystem = "NuGet"
	case packageurl.TypeComposer:
		p.Ecosystem = "Packagist"
		withNS("/")
		p.Release = strings.TrimRight(q["repository_url"], "/")
	case packageurl.TypeHex:
		p.Ecosystem = "Hex"
	case packageurl.TypePub:
		p.Ecosystem = "Pub"
	case packageurl.TypeHackage:
		p.Ecosystem = "Hackage"
	case packageurl.TypeCran:
		p.Ecosystem = "CRAN"
	case packageurl.TypeConan:
		p.Ecosystem = "ConanCenter"
	case packageurl.TypeBitnami:
		p.Ecosystem = "Bitnami"
	case packageurl.TypeDebian:
		switch u.Namespace {
		case "debian":
			p.Ecosystem = "Debian"
			p.Release = debianRelease(q["distro"])
		case "ubuntu":
			p.Ecosystem = "Ubuntu"
			p.Release = ubuntuRelease(q["distro"])
		default:
			return Package{}, fmt.Errorf("deb namespace %q: %w", u.Namespace, ErrUnsupported)
		}
		p.Name = sourceName(q, u.Name)
		if e := q["epoch"]; e != "" && !strings.Contains(p.Version, ":") {
			p.Version = e + ":" + p.Version
		}
	case packageurl.TypeApk:
		switch u.Namespace {
		case "alpine":
			p.Ecosystem = "Alpine"
			p.Release = alpineRelease(q["distro"])
		case "wolfi":
			p.Ecosystem = "Wolfi"
		case "chainguard":
			p.Ecosystem = "Chainguard"
		default:
			return Package{}, fmt.Errorf("apk namespace %q: %w", u.Namespace, ErrUnsupported)
		}
		p.Name = sourceName(q, u.Name)
	default:
		return Package{}, fmt.Errorf("purl type %q: %w", u.Type, ErrUnsupported)
	}
	return p, nil
}

// rawPath returns a golang purl's namespace/name and version exactly as
// written (percent-decoded).
func rawPath(purl string) (path, version string) {
	s := purl[len("pkg:"):]
	s = strings.TrimLeft(s, "/")
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	_, s, _ = strings.Cut(s, "/") // drop the type
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s, version = s[:i], s[i+1:]
	}
	if d, err := url.PathUnescape(s); err == nil {
		s = d
	}
	if d, err := url.PathUnescape(version); err == nil {
		version = d
	}
	return strings.Trim(s, "/"), version
}

// sourceName is the OS source package, which OSV's Debian and Alpine data
// name, when the SBOM records it (syft writes upstream=, sometimes with a
// version after @ or in parentheses); else the binary package name.
func sourceName(q map[string]string, name string) string {
	for _, k := range []string{"upstream", "source", "origin"} {
		if s := q[k]; s != "" {
			s, _, _ = strings.Cut(s, "@")
			s, _, _ = strings.Cut(s, " ")
			return s
		}
	}
	return name
}

var debianCodenames = map[string]string{
	"hamm": "2.0", "slink": "2.1", "potato": "2.2", "woody": "3.0", "sarge": "3.1", "etch": "4",
	"lenny": "5", "squeeze": "6", "wheezy": "7", "jessie": "8", "stretch": "9", "buster": "10",
	"bullseye": "11", "bookworm": "12", "trixie": "13", "forky": "14", "sid": "sid",
}

// debianRelease maps a purl distro qualifier (debian-12, bookworm, 12.4)
// to the OSV release suffix: the major version number, or "sid".
func debianRelease(distro string) string {
	d := strings.ToLower(strings.TrimSpace(distro))
	d = strings.TrimPrefix(d, "debian-")
	d = strings.TrimPrefix(d, "debian")
	if r, ok := debianCodenames[d]; ok {
		return r
	}
	if major, _, _ := strings.Cut(d, "."); major != "" && isDigits(major) {
		return major
	}
	return ""
}

var ubuntuCodenames = map[string]string{
	"trusty": "14.04", "xenial": "16.04", "bionic": "18.04", "focal": "20.04", "jammy": "22.04",
	"noble": "24.04", "mantic": "23.10", "lunar": "23.04", "kinetic": "22.10", "oracular": "24.10", "plucky": "25.04",
}

// ubuntuRelease maps ubuntu-22.04, 22.04 or jammy to "22.04".
func ubuntuRelease(distro string) string {
	d := strings.ToLower(strings.TrimSpace(distro))
	d = strings.TrimPrefix(d, "ubuntu-")
	if r, ok := ubuntuCodenames[d]; ok {
		return r
	}
	parts := strings.Split(d, ".")
	if len(parts) >= 2 && isDigits(parts[0]) && isDigits(parts[1]) {
		return parts[0] + "." + parts[1]
	}
	return ""
}

// alpineRelease maps alpine-3.18.4 or 3.18.4 to "v3.18".
func alpineRelease(distro string) string {
	d := strings.ToLower(strings.TrimSpace(distro))
	d = strings.TrimPrefix(d, "alpine-")
	d = strings.TrimPrefix(d, "v")
	parts := strings.Split(d, ".")
	if len(parts) >= 2 && isDigits(parts[0]) && isDigits(parts[1]) {
		return "v" + parts[0] + "." + parts[1]
	}
	if d == "edge" {
		return "edge"
	}
	return ""
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

var goTag = regexp.MustCompile(`^go([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:(rc|beta)([0-9]+))?$`)

// goToolchainVersion turns a Go release tag (go1.21.3, go1.21rc2, go1.20)
// into the semantic version OSV's Go data uses (1.21.3, 1.21.0-rc.2,
// 1.20.0). Other forms (v1.21.3, 1.21.3) are returned as given.
func goToolchainVersion(v string) string {
	m := goTag.FindStringSubmatch(v)
	if m == nil {
		return v
	}
	minor, patch := m[2], m[3]
	if minor == "" {
		minor = "0"
	}
	if patch == "" {
		patch = "0"
	}
	out := m[1] + "." + minor + "." + patch
	if m[4] != "" {
		out += "-" + m[4] + "." + m[5]
	}
	return out
}

var pep503 = regexp.MustCompile(`[-_.]+`)

// normalizeName applies an ecosystem's name equivalence so that index
// keys from advisories and from SBOMs meet:
//   - PyPI: PEP 503 (lower case, runs of -_. become -);
//   - crates.io: crate names are unique ignoring case and -/_;
//   - NuGet, Packagist, Hex, Pub and OS packages: case-insensitive names;
//   - Go module paths, npm, Maven and RubyGems: exact.
func normalizeName(ecosystem, name string) string {
	switch ecosystem {
	case "PyPI":
		return strings.ToLower(pep503.ReplaceAllLiteralString(name, "-"))
	case "crates.io":
		return strings.ReplaceAll(strings.ToLower(name), "_", "-")
	case "NuGet", "Packagist", "Hex", "Pub", "Debian", "Ubuntu", "Alpine", "Wolfi", "Chainguard":
		return strings.ToLower(name)
	}
	return name
}

// splitEcosystem splits an OSV ecosystem string into its base and suffix:
// "Debian:12" → "Debian", "12"; "Ubuntu:Pro:22.04:LTS" → "Ubuntu", "Pro:22.04:LTS".
func splitEcosystem(e string) (base, suffix string) {
	base, suffix, _ = strings.Cut(e, ":")
	return base, suffix
}

// releaseMatches reports whether an advisory entry scoped to suffix
// applies to a package of the given release.
func releaseMatches(base, suffix, release string) bool {
	if suffix == "" {
		return true // an unscoped entry applies to every release
	}
	switch base {
	case "Maven", "Packagist", "VSCode", "Pub":
		// The suffix names a non-default repository: only packages that
		// say they come from it.
		return strings.TrimRight(suffix, "/") == release
	case "Ubuntu":
		if release == "" {
			return true
		}
		for _, part := range strings.Split(suffix, ":") {
			if part == release {
				return true
			}
		}
		return false
	}
	// Distributions: an unknown release matches every release's entry
	// (the conservative choice, documented); a known one only its own.
	return release == "" || suffix == release
}
