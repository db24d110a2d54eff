package intake

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"time"
)

// Tail follows a growing log file, like tail -F: it survives rotation (the
// path now names a new file: the old one is read to its end first) and
// truncation (the file shrank: reading starts again at the top). It polls,
// which works on every file system, network mounts included.
type Tail struct {
	Path string
	// FromStart reads the existing content first; otherwise only lines
	// written after Run starts are read.
	FromStart bool
	// Poll is the interval between checks (default 250ms).
	Poll time.Duration
	// MaxLine bounds a line (default 1 MiB); longer ones are cut.
	MaxLine int
}

// Run calls fn with each complete line until ctx ends. A missing file is
// waited for.
func (t *Tail) Run(ctx context.Context, fn func(line []byte)) error {
	if t.Poll <= 0 {
		t.Poll = 250 * time.Millisecond
	}
	if t.MaxLine <= 0 {
		t.MaxLine = 1 << 20
	}
	var (
		f       *os.File
		info    os.FileInfo
		off     int64
		partial []byte
		buf     = make([]byte, 64<<10)
		first   = true
	)
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	emit := func(data []byte) {
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				partial = append(partial, data...)
				if len(partial) > t.MaxLine {
					fn(partial[:t.MaxLine])
					partial = partial[:0]
				}
				return
			}
			line := data[:i]
			if len(partial) > 0 {
				partial = append(partial, line...)
				line = partial
			}
			fn(bytes.TrimRight(line, "\r"))
			partial = partial[:0]
			data = data[i+1:]
		}
	}
	readToEnd := func() error {
		for {
			n, err := f.Read(buf)
			if n > 0 {
				off += int64(n)
				emit(buf[:n])
			}
			if errors.Is(err, io.EOF) || n == 0 {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	for {
		if f == nil {
			nf, err := os.Open(t.Path)
			if err == nil {
				f = nf
				info, _ = f.Stat()
				off = 0
				if first && !t.FromStart && info != nil {
					off, _ = f.Seek(0, io.SeekEnd)
				}
				partial = partial[:0]
			} else if !errors.Is(err, os.ErrNotExist) {
				return err
			}
			first = false
		}
		if f != nil {
			if err := readToEnd(); err != nil {
				return err
			}
			st, err := os.Stat(t.Path)
			switch {
			case err != nil || !os.SameFile(st, info):
				// Rotated (renamed or removed): finish the old file, then
				// switch to the new one on the next round.
				if err := readToEnd(); err != nil {
					return err
				}
				if len(partial) > 0 {
					fn(partial)
					partial = partial[:0]
				}
				f.Close()
				f = nil
				continue
			case st.Size() < off:
				// Truncated in place (copytruncate): start over.
				if _, err := f.Seek(0, io.SeekStart); err != nil {
					return err
				}
				off = 0
				partial = partial[:0]
				continue
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(t.Poll):
		}
	}
}
