// Command gensbom writes a large CycloneDX SBOM made of real package names
// and versions, for the osv-scanner comparison and the benchmarks: Go and
// crates.io modules at versions taken from the OSV data's own range events
// (each introduced and fixed version, and the patch releases just below and
// above each fix), plus the npm and Maven components of real bom-examples SBOMs and a
// few PyPI packages. The output is deterministic.
//
//	go run ./internal/vuln/testdata/gensbom -data ../shared/data -n 12000 -o big.cdx.json
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/mamori-dev/mamori/internal/format/osv"
)

type comp struct{ eco, name, version string }

func main() {
	data := flag.String("data", "../shared/data", "the shared data directory")
	n := flag.Int("n", 12000, "number of components")
	out := flag.String("o", "big.cdx.json", "output file")
	flag.Parse()

	res, err := osv.Load(context.Background(), filepath.Join(*data, "osv"))
	if err != nil {
		log.Fatal(err)
	}
	byEco := map[string][]comp{}
	seen := map[comp]bool{}
	add := func(c comp) {
		if c.version == "" || seen[c] {
			return
		}
		seen[c] = true
		byEco[c.eco] = append(byEco[c.eco], c)
	}
	sort.Slice(res.Advisories, func(i, j int) bool { return res.Advisories[i].ID < res.Advisories[j].ID })
	for _, a := range res.Advisories {
		for _, af := range a.Affected {
			for _, r := range af.Ranges {
				for _, e := range r.Events {
					for _, v := range []string{e.Introduced, e.Fixed, below(e.Fixed), above(e.Fixed)} {
						if v == "" || v == "0" {
							continue
						}
						if (af.Name == "stdlib" || af.Name == "toolchain") && strings.Contains(v, "-") {
							continue // OSV's 1.21.0-0 style bounds are not Go releases
						}
						add(comp{af.Ecosystem, af.Name, v})
					}
				}
			}
		}
	}
	// npm and Maven components of real SBOMs.
	for _, f := range []string{"SBOM_juice-shop_v11.1.2_bom.json", "SBOM_protonmail-webclient-v4-0912dff_bom.json", "keycloak-10.0.2.cdx.json"} {
		b, err := os.ReadFile(filepath.Join(*data, "sbom", "cyclonedx", f))
		if err != nil {
			log.Fatal(err)
		}
		var bom struct {
			Components []struct{ Group, Name, Version, Purl string }
		}
		if err := json.Unmarshal(b, &bom); err != nil {
			log.Fatal(err)
		}
		for _, c := range bom.Components {
			switch {
			case strings.HasPrefix(c.Purl, "pkg:npm/"):
				name := c.Name
				if c.Group != "" {
					name = c.Group + "/" + c.Name
				}
				add(comp{"npm", name, c.Version})
			case strings.HasPrefix(c.Purl, "pkg:maven/"):
				add(comp{"Maven", c.Group + ":" + c.Name, c.Version})
			}
		}
	}
	for _, p := range [][2]string{{"Django", "3.2.0"}, {"requests", "2.19.0"}, {"PyYAML", "5.3"}, {"Jinja2", "2.10"}, {"urllib3", "1.24.1"},
		{"typing_extensions", "4.7.1"}, {"zope.interface", "5.4.0"}, {"Pillow", "8.1.0"}, {"cryptography", "3.3.1"}, {"Flask", "1.0"},
		{"setuptools", "65.5.0"}, {"numpy", "1.21.0"}, {"lxml", "4.6.2"}, {"paramiko", "2.4.1"}, {"Werkzeug", "0.15.3"}} {
		add(comp{"PyPI", p[0], p[1]})
	}

	// Take each ecosystem's share, spread evenly over its list: about a
	// quarter crates.io, an eighth npm, a twelfth Maven, all the PyPI ones,
	// and Go for the rest.
	quota := map[string]int{
		"npm":       min(len(byEco["npm"]), *n/8),
		"Maven":     min(len(byEco["Maven"]), *n/12),
		"PyPI":      len(byEco["PyPI"]),
		"crates.io": min(len(byEco["crates.io"]), *n/4),
	}
	quota["Go"] = min(len(byEco["Go"]), *n-quota["npm"]-quota["Maven"]-quota["PyPI"]-quota["crates.io"])
	var comps []cdx.Component
	for _, eco := range []string{"Go", "crates.io", "npm", "Maven", "PyPI"} {
		list, q := byEco[eco], quota[eco]
		for i := 0; i < q; i++ {
			comps = append(comps, component(list[i*len(list)/q]))
		}
	}
	if len(comps) > *n {
		comps = comps[:*n]
	}
	bom := cdx.NewBOM()
	bom.SerialNumber = "urn:uuid:6f1b6c3e-9a3e-4a8e-8a52-1f0c2d9e1200"
	bom.Metadata = &cdx.Metadata{Timestamp: "2026-11-22T00:00:00Z",
		Component: &cdx.Component{Type: cdx.ComponentTypeApplication, Name: "mamori-benchmark-portfolio", Version: "1.0.0"}}
	bom.Components = &comps
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	enc := cdx.NewBOMEncoder(f, cdx.BOMFileFormatJSON)
	if err := enc.EncodeVersion(bom, cdx.SpecVersion1_4); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	counts := map[string]int{}
	for _, c := range comps {
		counts[strings.SplitN(strings.TrimPrefix(c.PackageURL, "pkg:"), "/", 2)[0]]++
	}
	fmt.Printf("%s: %d components %v\n", *out, len(comps), counts)
}

var majorSuffix = regexp.MustCompile(`/v[0-9]+$`)

func component(c comp) cdx.Component {
	out := cdx.Component{Type: cdx.ComponentTypeLibrary, Name: c.name, Version: c.version}
	switch c.eco {
	case "Go":
		v := "v" + c.version
		if c.name == "stdlib" || c.name == "toolchain" {
			// As syft writes the Go standard library: the release tag as
			// the version, the semantic version in the purl.
			out.Version = "go" + c.version
			out.PackageURL = "pkg:golang/" + c.name + "@" + c.version
			out.BOMRef = out.PackageURL
			return out
		}
		if major, _, _ := strings.Cut(c.version, "."); !strings.Contains(c.version, "+incompatible") &&
			!majorSuffix.MatchString(c.name) && !strings.HasPrefix(c.name, "gopkg.in/") && atoi(major) >= 2 {
			v += "+incompatible"
		}
		out.Version = v
		out.PackageURL = "pkg:golang/" + c.name + "@" + strings.ReplaceAll(v, "+", "%2B")
	case "crates.io":
		out.PackageURL = "pkg:cargo/" + c.name + "@" + c.version
	case "npm":
		if scope, name, ok := strings.Cut(c.name, "/"); ok {
			out.Group, out.Name = scope, name
			out.PackageURL = "pkg:npm/%40" + scope[1:] + "/" + name + "@" + c.version
		} else {
			out.PackageURL = "pkg:npm/" + c.name + "@" + c.version
		}
	case "Maven":
		g, a, _ := strings.Cut(c.name, ":")
		out.Group, out.Name = g, a
		out.PackageURL = "pkg:maven/" + g + "/" + a + "@" + c.version
	case "PyPI":
		out.PackageURL = "pkg:pypi/" + c.name + "@" + c.version
	}
	out.BOMRef = out.PackageURL
	return out
}

// below returns the patch release just below a fixed version (1.2.3 →
// 1.2.2), or "" when there is none.
func below(v string) string {
	core, pre, _ := strings.Cut(v, "-")
	if pre != "" {
		return ""
	}
	core, _, _ = strings.Cut(core, "+")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return ""
	}
	p := atoi(parts[2])
	if p <= 0 {
		return ""
	}
	return parts[0] + "." + parts[1] + "." + strconv.Itoa(p-1)
}

// above returns the patch release just above a fixed version.
func above(v string) string {
	core, pre, _ := strings.Cut(v, "-")
	if pre != "" {
		return ""
	}
	core, _, _ = strings.Cut(core, "+")
	parts := strings.Split(core, ".")
	if len(parts) != 3 || atoi(parts[2]) < 0 {
		return ""
	}
	return parts[0] + "." + parts[1] + "." + strconv.Itoa(atoi(parts[2])+1)
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}
