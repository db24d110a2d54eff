package sbom

import (
	"bytes"

	"github.com/mamori-dev/mamori"
)

// MaxSize is the largest SBOM accepted, to bound memory on upload. The
// biggest real SBOMs seen (container images) are a few tens of MB.
const MaxSize = 256 << 20

// Decoder reads one SBOM format. Format adapters implement it; the domain
// only sniffs and dispatches, so it never imports an adapter.
type Decoder interface {
	// Detect reports whether data looks like this decoder's format. It is
	// cheap and never fails: Decode reports what is wrong.
	Detect(data []byte) bool
	// Decode parses a whole document. On any error it returns nil and an
	// EINVALID error saying what is wrong, so nothing partial is stored.
	Decode(data []byte) (*Document, error)
}

// Decoders tries each decoder in turn.
type Decoders []Decoder

// Decode detects the format of data and decodes it. name (a file name)
// only labels errors.
func (ds Decoders) Decode(name string, data []byte) (*Document, error) {
	if len(data) > MaxSize {
		return nil, mamori.Errorf(mamori.ETOOLARGE, "%s is larger than the %d MB an SBOM may have.", label(name), MaxSize>>20)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, mamori.Errorf(mamori.EINVALID, "%s is empty.", label(name))
	}
	for _, d := range ds {
		if d.Detect(data) {
			doc, err := d.Decode(data)
			if err != nil {
				e := mamori.Wrap(mamori.EINVALID, err, label(name)+": "+mamori.ErrorMessage(err))
				e.Fields = mamori.ErrorFields(err)
				return nil, e
			}
			return doc, nil
		}
	}
	return nil, mamori.Errorf(mamori.EINVALID, "%s is not a CycloneDX (JSON or XML) or SPDX (JSON or tag-value) SBOM.", label(name))
}

func label(name string) string {
	if name == "" {
		return "The SBOM"
	}
	return name
}
