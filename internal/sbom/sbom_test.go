package sbom_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/sbom"
)

func TestKey(t *testing.T) {
	tests := []struct {
		c    sbom.Component
		want string
	}{
		{sbom.Component{PURL: "pkg:npm/%40babel/core@7.1.0", Name: "core", Group: "@babel"}, "pkg:npm/@babel/core"},
		{sbom.Component{PURL: "pkg:maven/org.a/b@1.0?type=jar"}, "pkg:maven/org.a/b"},
		{sbom.Component{PURL: "pkg:golang/github.com/a/b/v2@v2.0.1"}, "pkg:golang/github.com/a/b/v2"},
		{sbom.Component{PURL: "pkg:pypi/Django@3.2"}, "pkg:pypi/django"}, // packageurl-go lower-cases pypi names
		{sbom.Component{PURL: "not a purl", Name: "x", Group: "g"}, "name:g/x"},
		{sbom.Component{Name: "x"}, "name:x"},
	}
	for _, tt := range tests {
		if got := tt.c.Key(); got != tt.want {
			t.Errorf("Key(%+v) = %q, want %q", tt.c, got, tt.want)
		}
	}
}

func doc(cs ...string) *sbom.Document {
	d := &sbom.Document{Format: sbom.FormatCycloneDX, SpecVersion: "1.4"}
	for _, c := range cs {
		name, version, _ := strings.Cut(c, "@")
		d.Components = append(d.Components, sbom.Component{Name: name, Version: version, PURL: "pkg:npm/" + name + "@" + version})
	}
	return d
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name                    string
		old, new                *sbom.Document
		added, removed, changed []string
		unchanged               int
	}{
		{"same", doc("a@1", "b@2"), doc("b@2", "a@1"), nil, nil, nil, 2},
		{"bump", doc("a@1", "b@2"), doc("a@1", "b@3"), nil, nil, []string{"b 2→3"}, 1},
		{"add remove", doc("a@1"), doc("b@1"), []string{"b@1"}, []string{"a@1"}, nil, 0},
		{"several versions of one package", doc("l@1", "l@2", "l@3"), doc("l@2", "l@4"), nil, []string{"l@3"}, []string{"l 1→4"}, 1},
		{"from nothing", nil, doc("a@1"), []string{"a@1"}, nil, nil, 0},
	}
	str := func(cs []sbom.Component) (out []string) {
		for _, c := range cs {
			out = append(out, c.Name+"@"+c.Version)
		}
		return out
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := sbom.Compare(tt.old, tt.new)
			var changed []string
			for _, c := range d.Changed {
				changed = append(changed, c.New.Name+" "+c.Old.Version+"→"+c.New.Version)
			}
			if strings.Join(str(d.Added), ",") != strings.Join(tt.added, ",") ||
				strings.Join(str(d.Removed), ",") != strings.Join(tt.removed, ",") ||
				strings.Join(changed, ",") != strings.Join(tt.changed, ",") || d.Unchanged != tt.unchanged {
				t.Errorf("got added %v removed %v changed %v unchanged %d", str(d.Added), str(d.Removed), changed, d.Unchanged)
			}
			if d.Empty() != (len(tt.added)+len(tt.removed)+len(tt.changed) == 0) {
				t.Errorf("Empty() = %v", d.Empty())
			}
		})
	}
}

type fakeDecoder struct {
	prefix string
	err    error
}

func (f fakeDecoder) Detect(data []byte) bool { return strings.HasPrefix(string(data), f.prefix) }
func (f fakeDecoder) Decode([]byte) (*sbom.Document, error) {
	if f.err != nil {
		return nil, f.err
	}
	return doc("a@1"), nil
}

func TestDecoders(t *testing.T) {
	ds := sbom.Decoders{fakeDecoder{prefix: "A"}, fakeDecoder{prefix: "B", err: mamori.Invalid("components[3]", "bad")}}
	if d, err := ds.Decode("a.json", []byte("A...")); err != nil || len(d.Components) != 1 {
		t.Errorf("A: %v %v", d, err)
	}
	_, err := ds.Decode("b.json", []byte("B..."))
	if mamori.ErrorCode(err) != mamori.EINVALID || !strings.Contains(mamori.ErrorMessage(err), "b.json") || mamori.ErrorFields(err)["components[3]"] != "bad" {
		t.Errorf("B: %v (fields %v)", err, mamori.ErrorFields(err))
	}
	for _, in := range []string{"", "  \n", "C"} {
		if _, err := ds.Decode("c", []byte(in)); mamori.ErrorCode(err) != mamori.EINVALID {
			t.Errorf("%q: %v", in, err)
		}
	}
	var ae *mamori.Error
	if _, err := ds.Decode("big", make([]byte, sbom.MaxSize+1)); !errors.As(err, &ae) || ae.Code != mamori.ETOOLARGE {
		t.Errorf("too large: %v", err)
	}
}

func TestValidate(t *testing.T) {
	d := &sbom.Document{Format: "x", Components: []sbom.Component{{Version: "1"}}}
	fields := mamori.ErrorFields(d.Validate())
	for _, f := range []string{"format", "specVersion", "components[0]"} {
		if fields[f] == "" {
			t.Errorf("no error for %s: %v", f, fields)
		}
	}
}
