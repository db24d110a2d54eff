package vuln_test

import (
	"testing"

	"github.com/mamori-dev/mamori/internal/sbom"
	"github.com/mamori-dev/mamori/internal/vuln"
)

// FuzzPackageFromPURL feeds package URLs and versions from SBOMs (outside
// input) through the purl mapping and the matcher: nothing may panic,
// whatever the ecosystem's version parser thinks of the version.
func FuzzPackageFromPURL(f *testing.F) {
	for _, s := range []string{
		"pkg:golang/github.com/BurntSushi/toml@v1.2.0", "pkg:golang/stdlib@go1.21rc2", "pkg:npm/%40babel/polyfill@7.10.4",
		"pkg:pypi/Django@1.0.0rc1", "pkg:maven/org.a/b@1.0-SNAPSHOT", "pkg:deb/debian/bash@5.2-2?distro=bookworm&epoch=1",
		"pkg:apk/alpine/libcrypto3@3.0.4-r0?distro=alpine-3.16.2&upstream=openssl", "pkg:gem/rails@7.0.0.rc1",
		"pkg:nuget/Newtonsoft.Json@12.0.1", "pkg:composer/laravel/framework@7.12.0", "pkg:cargo/serde_json@1.0.1",
		"pkg:deb/ubuntu/openssl@3.0.2?distro=jammy", "pkg:pypi/x@!!!", "pkg:deb/debian/x@:::",
	} {
		f.Add(s)
	}
	advs := []vuln.Advisory{
		adv("G", "Go", "github.com/BurntSushi/toml", semver("i:0", "f:1.3.0")),
		adv("S", "Go", "stdlib", semver("i:1.21.0-0", "f:1.21.1")),
		adv("P", "PyPI", "django", eco("i:0", "f:1.0.0"), "0.9"),
		adv("M", "Maven", "org.a:b", eco("i:0", "l:1.0")),
		adv("D", "Debian:12", "bash", eco("i:0", "f:1:5.2-3")),
		adv("A", "Alpine:v3.16", "openssl", eco("i:0", "f:3.0.5-r0")),
		adv("R", "RubyGems", "rails", eco("i:0", "f:7.0.1")),
		adv("C", "crates.io", "serde-json", semver("i:0", "x:2.0.0")),
		adv("U", "Ubuntu:22.04:LTS", "openssl", eco("i:0", "f:3.0.2-0ubuntu1.1")),
	}
	ix := vuln.NewIndex(advs)
	m := vuln.NewMatcher(ix)
	f.Fuzz(func(t *testing.T, purl string) {
		p, err := vuln.PackageFromPURL(purl)
		if err != nil {
			return
		}
		ix.Match(p)
		doc := &sbom.Document{Format: sbom.FormatCycloneDX, SpecVersion: "1.6", Components: []sbom.Component{{Name: "x", PURL: purl}}}
		m.SetSBOM("fuzz", doc)
	})
}
