package backup

import (
	"bufio"
	"bytes"
	"math"
	"reflect"
	"testing"
	"time"
)

func TestRowRoundTrip(t *testing.T) {
	rows := [][]any{
		{nil, "text with \"quotes\", 日本語 and \u2028", int64(-42), true, false, []byte{0, 1, 255}, time.Date(2026, 4, 1, 9, 0, 0, 123456000, time.UTC), 2.5},
		{"", int64(math.MaxInt64), []byte{}, time.Time{}.UTC()},
	}
	for _, row := range rows {
		line, err := encodeRow(nil, row)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeRow(bytes.TrimSuffix(line, []byte("\n")), len(row))
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if !reflect.DeepEqual(got, row) {
			t.Fatalf("round trip:\n got %#v\nwant %#v", got, row)
		}
	}
	for _, bad := range []string{`[1,2]`, `{}`, `[1 2 3]`, `["a",{"x":1},3]`, `[01,2,3]`, `[null,nul,1]`, `[{"b":"!!"},1,2]`} {
		if _, err := decodeRow([]byte(bad), 3); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func FuzzDecodeRow(f *testing.F) {
	seed, _ := encodeRow(nil, []any{nil, "x", int64(7), true, []byte("b"), time.Unix(0, 0).UTC(), 1.5})
	f.Add(bytes.TrimSpace(seed), 7)
	f.Add([]byte(`[]`), 0)
	f.Add([]byte(`[{"t":"2026-04-01T00:00:00Z"}]`), 1)
	f.Add([]byte(`[{"b":"AAAA","t":"x"}]`), 1)
	f.Fuzz(func(t *testing.T, line []byte, n int) {
		if n < 0 || n > 64 {
			return
		}
		row, err := decodeRow(line, n)
		if err != nil {
			return
		}
		// What decodes must encode and decode to the same values.
		again, err := encodeRow(nil, row)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", row, err)
		}
		back, err := decodeRow(bytes.TrimSuffix(again, []byte("\n")), n)
		if err != nil || !reflect.DeepEqual(back, row) {
			t.Fatalf("not stable: %#v → %s → %#v (%v)", row, again, back, err)
		}
	})
}

// FuzzBackupEnvelope feeds arbitrary bytes to the readers of a backup's
// outer layers (footer, signed note, header): they must refuse, never panic.
func FuzzBackupEnvelope(f *testing.F) {
	f.Add([]byte(magic + `{"format":1,"id":"x","wrapped_key":"AAAA"}` + "\nbody" + "note\x00\x00\x00\x00\x00\x00\x00\x04" + footerMagic))
	f.Add([]byte(footerMagic))
	f.Add([]byte(magic + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		if lay, err := readLayout(r, int64(len(b))); err == nil {
			if lay.bodySize < 0 || lay.bodySize > int64(len(b)) {
				t.Fatalf("body size %d of %d bytes", lay.bodySize, len(b))
			}
			_, _, _, _ = parseSigned(string(lay.note))
		}
		_, _, _ = readHeader(bufio.NewReader(bytes.NewReader(b)))
	})
}
