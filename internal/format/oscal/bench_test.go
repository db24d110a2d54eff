package oscal_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/format/oscal"
)

func BenchmarkDecodeNIST(b *testing.B) {
	data, err := os.ReadFile(nistFile)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := oscal.Decode(data, oscal.ImportOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeFSA(b *testing.B) {
	lib, err := control.Shipped()
	if err != nil {
		b.Fatal(err)
	}
	c, _ := lib.Catalog("fsa-csgl")
	b.ReportAllocs()
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := oscal.Encode(&buf, c, oscal.ExportOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

func BenchmarkDecodeFSA(b *testing.B) {
	lib, err := control.Shipped()
	if err != nil {
		b.Fatal(err)
	}
	c, _ := lib.Catalog("fsa-csgl")
	var buf bytes.Buffer
	_ = oscal.Encode(&buf, c, oscal.ExportOptions{})
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := oscal.Decode(buf.Bytes(), oscal.ImportOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
