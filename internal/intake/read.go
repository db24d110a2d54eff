package intake

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/detect"
)

// MaxLine is the longest line read (a CloudTrail file is one line); longer
// lines are counted malformed and skipped.
const MaxLine = 64 << 20

// maxErrors is how many malformed lines a Report describes.
const maxErrors = 20

// Report says what a read found. Malformed lines are counted; the first
// few are described with their line number.
type Report struct {
	Lines     int         `json:"lines"`
	Events    int         `json:"events"`
	Malformed int         `json:"malformed"`
	Errors    []LineError `json:"errors,omitempty"`
}

// LineError is one malformed line.
type LineError struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

func (r *Report) bad(line int, err error) {
	r.Malformed++
	if len(r.Errors) < maxErrors {
		msg := err.Error()
		var ae *mamori.Error
		if errors.As(err, &ae) {
			msg = ae.Error()
		}
		r.Errors = append(r.Errors, LineError{Line: line, Reason: msg})
	}
}

// Read parses every line of r with p and calls fn for each event, in
// order. A malformed line is counted and skipped; only a read error or
// ctx ends it early.
func Read(ctx context.Context, r io.Reader, p detect.Parser, fn func(*detect.Event)) (Report, error) {
	var rep Report
	br := bufio.NewReaderSize(r, 256<<10)
	var buf []detect.Event
	var long []byte
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if !tooLong {
				long = append(long, chunk...)
				if len(long) > MaxLine {
					tooLong, long = true, long[:0]
				}
			}
			continue
		}
		if len(chunk) > 0 || len(long) > 0 || tooLong {
			line := chunk
			if len(long) > 0 {
				long = append(long, chunk...)
				line = long
			}
			rep.Lines++
			if tooLong {
				rep.bad(rep.Lines, fmt.Errorf("line longer than %d bytes", MaxLine))
			} else {
				var perr error
				buf, perr = p.Parse(buf[:0], bytes.TrimRight(line, "\r\n"))
				if perr != nil {
					rep.bad(rep.Lines, perr)
				}
				for i := range buf {
					fn(&buf[i])
				}
				rep.Events += len(buf)
			}
			long, tooLong = long[:0], false
			if rep.Lines&0xfff == 0 {
				if cerr := ctx.Err(); cerr != nil {
					return rep, cerr
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return rep, fmt.Errorf("read events: %w", err)
		}
	}
	buf = p.Flush(buf[:0])
	for i := range buf {
		fn(&buf[i])
	}
	rep.Events += len(buf)
	return rep, nil
}

// Feed parses lines arriving from many goroutines (listener connections,
// tailed files) with one parser and passes the events on, one at a time.
type Feed struct {
	mu  sync.Mutex
	p   detect.Parser
	fn  func(*detect.Event)
	rep Report
	buf []detect.Event
}

// NewFeed returns a feed parsing with p and calling fn.
func NewFeed(p detect.Parser, fn func(*detect.Event)) *Feed { return &Feed{p: p, fn: fn} }

// Line parses one line (or one syslog message).
func (f *Feed) Line(line []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rep.Lines++
	var err error
	f.buf, err = f.p.Parse(f.buf[:0], bytes.TrimRight(line, "\r\n"))
	if err != nil {
		f.rep.bad(f.rep.Lines, err)
	}
	for i := range f.buf {
		f.fn(&f.buf[i])
	}
	f.rep.Events += len(f.buf)
}

// Flush passes on events the parser held back.
func (f *Feed) Flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buf = f.p.Flush(f.buf[:0])
	for i := range f.buf {
		f.fn(&f.buf[i])
	}
	f.rep.Events += len(f.buf)
}

// Report returns the counts so far.
func (f *Feed) Report() Report {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.rep
	r.Errors = append([]LineError(nil), r.Errors...)
	return r
}
