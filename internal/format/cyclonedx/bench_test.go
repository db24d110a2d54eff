package cyclonedx_test

import (
	"bytes"
	"fmt"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/mamori-dev/mamori/internal/format/cyclonedx"
)

// bigBOM encodes a BOM of n components shaped like real ones (purl,
// hashes, licence, dependencies), in the given format.
func bigBOM(tb testing.TB, n int, f cdx.BOMFileFormat) []byte {
	comps := make([]cdx.Component, n)
	deps := make([]cdx.Dependency, 0, n)
	for i := range comps {
		purl := fmt.Sprintf("pkg:npm/%%40scope%d/package-%d@%d.%d.%d", i%50, i, i%7, i%13, i%29)
		comps[i] = cdx.Component{
			BOMRef: purl, Type: cdx.ComponentTypeLibrary, Group: fmt.Sprintf("@scope%d", i%50), Name: fmt.Sprintf("package-%d", i),
			Version: fmt.Sprintf("%d.%d.%d", i%7, i%13, i%29), PackageURL: purl,
			Hashes:   &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA512, Value: fmt.Sprintf("%0128x", i)}},
			Licenses: &cdx.Licenses{{License: &cdx.License{ID: "MIT"}}},
		}
		if i > 0 {
			deps = append(deps, cdx.Dependency{Ref: comps[i-1].BOMRef, Dependencies: &[]string{purl}})
		}
	}
	bom := cdx.NewBOM()
	bom.Components = &comps
	bom.Dependencies = &deps
	var buf bytes.Buffer
	if err := cdx.NewBOMEncoder(&buf, f).EncodeVersion(bom, cdx.SpecVersion1_5); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkDecode10k is the import goal: a 10,000-component SBOM
// parsed (not stored) well under 2 s.
func BenchmarkDecode10k(b *testing.B) {
	for _, f := range []struct {
		name string
		f    cdx.BOMFileFormat
	}{{"json", cdx.BOMFileFormatJSON}, {"xml", cdx.BOMFileFormatXML}} {
		data := bigBOM(b, 10000, f.f)
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				doc, err := cyclonedx.Decode(data)
				if err != nil || len(doc.Components) != 10000 {
					b.Fatal(err)
				}
			}
		})
	}
}
