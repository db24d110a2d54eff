// Package ndjson reads canonical sign-in events, one JSON object per line
// (ECS field names, flat "event.action" or nested {"event":{"action":…}}).
package ndjson

import (
	"bytes"

	"github.com/mamori-dev/mamori/internal/detect"
)

// Parser reads NDJSON lines; it keeps no state.
type Parser struct{}

// New returns a parser.
func New() *Parser { return &Parser{} }

// Parse implements detect.Parser. Blank lines are skipped.
func (*Parser) Parse(dst []detect.Event, line []byte) ([]detect.Event, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return dst, nil
	}
	var ev detect.Event
	if err := ev.UnmarshalJSON(line); err != nil {
		return dst, err
	}
	return append(dst, ev), nil
}

// Flush implements detect.Parser.
func (*Parser) Flush(dst []detect.Event) []detect.Event { return dst }
