package spdx_test

import (
	"bytes"
	"fmt"
	"testing"

	spdxjson "github.com/spdx/tools-golang/json"
	tools "github.com/spdx/tools-golang/spdx"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/tagvalue"

	"github.com/mamori-dev/mamori/internal/format/spdx"
)

func bigDoc(n int) *tools.Document {
	d := &tools.Document{
		SPDXVersion: "SPDX-2.3", DataLicense: "CC0-1.0", SPDXIdentifier: "DOCUMENT", DocumentName: "big",
		DocumentNamespace: "https://example.com/big",
		CreationInfo:      &tools.CreationInfo{Created: "2024-01-01T00:00:00Z", Creators: []common.Creator{{CreatorType: "Tool", Creator: "bench"}}},
	}
	for i := range n {
		id := common.ElementID(fmt.Sprintf("Package-%d", i))
		d.Packages = append(d.Packages, &tools.Package{
			PackageName: fmt.Sprintf("package-%d", i), PackageSPDXIdentifier: id, PackageVersion: fmt.Sprintf("1.%d.0", i%17),
			PackageDownloadLocation: "NOASSERTION", PackageLicenseConcluded: "MIT",
			PackageChecksums: []common.Checksum{{Algorithm: common.SHA256, Value: fmt.Sprintf("%064x", i)}},
			PackageExternalReferences: []*tools.PackageExternalReference{{Category: "PACKAGE-MANAGER", RefType: "purl",
				Locator: fmt.Sprintf("pkg:npm/package-%d@1.%d.0", i, i%17)}},
		})
		d.Relationships = append(d.Relationships, &tools.Relationship{
			RefA: common.DocElementID{ElementRefID: "DOCUMENT"}, RefB: common.DocElementID{ElementRefID: id}, Relationship: "DESCRIBES"})
	}
	return d
}

func BenchmarkDecode10k(b *testing.B) {
	doc := bigDoc(10000)
	var j, tv bytes.Buffer
	if err := spdxjson.Write(doc, &j); err != nil {
		b.Fatal(err)
	}
	if err := tagvalue.Write(doc, &tv); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		data []byte
	}{{"json", j.Bytes()}, {"tag-value", tv.Bytes()}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			b.ReportAllocs()
			for b.Loop() {
				d, err := spdx.Decode(c.data)
				if err != nil || len(d.Components) != 10000 {
					b.Fatal(err)
				}
			}
		})
	}
}
