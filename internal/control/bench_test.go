package control_test

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/mamori-dev/mamori/internal/control"
)

// BenchmarkLoadShipped parses and validates the three embedded catalogs,
// which the server does once at start-up.
func BenchmarkLoadShipped(b *testing.B) {
	fsys := os.DirFS(".")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := control.LoadLibrary(fsys, "catalogs"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeJSONFSA(b *testing.B) {
	c := mustCatalog(b, "fsa-csgl")
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := control.EncodeJSON(&buf, c); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

func BenchmarkDecodeJSONFSA(b *testing.B) {
	var buf bytes.Buffer
	_ = control.EncodeJSON(&buf, mustCatalog(b, "fsa-csgl"))
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := control.DecodeJSON(buf.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateFSA(b *testing.B) {
	c := mustCatalog(b, "fsa-csgl")
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScheduleFSA(b *testing.B) {
	c := mustCatalog(b, "fsa-csgl")
	obs := c.Obligations()
	in := control.ScheduleInput{PeriodStart: time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC), Today: time.Date(2025, 9, 15, 0, 0, 0, 0, time.UTC),
		Intervals: map[string]control.Interval{"FSA-CSGL-2.3.2-B01": control.Yearly}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := control.Schedule(obs, in); err != nil {
			b.Fatal(err)
		}
	}
}
