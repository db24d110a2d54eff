package osv

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/vuln"
)

// MaxFileSize bounds one advisory document; the largest real ones (Linux
// kernel, Debian) are a few MB.
const MaxFileSize = 64 << 20

// Result is what Load read.
type Result struct {
	Advisories []vuln.Advisory // withdrawn ones excluded; one per ID
	// Problems are the documents that could not be read, each named by
	// file (and zip entry); everything else was loaded.
	Problems   []Problem
	Documents  int // JSON documents read
	Withdrawn  int // withdrawn advisories left out
	Duplicates int // documents whose ID was already loaded (the newest by modified time is kept)
}

// Problem is one unreadable advisory document.
type Problem struct {
	File string // path, or "archive.zip:entry.json"
	Err  error
}

func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	b.WriteString(": ")
	b.WriteString(mamori.ErrorMessage(p.Err))
	fields := mamori.ErrorFields(p.Err)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s: %s.", k, fields[k])
	}
	return b.String()
}

// job is one document to read: a file, or an entry of an open zip.
type job struct {
	name  string
	path  string
	entry *zip.File
}

// Load reads OSV advisories from each path: a JSON file (one advisory, or
// an array of them), a zip archive of JSON files, or a directory searched
// recursively for both (so osv-scanner's local database directory works
// as is). Documents are decoded in parallel. A malformed document becomes
// a Problem naming it and the rest load; err is set only when a path
// cannot be read at all (missing, unreadable, not a zip).
func Load(ctx context.Context, paths ...string) (*Result, error) {
	var jobs []job
	addZip := func(path string) error {
		// Reading the archive whole costs a few MB but saves a system
		// call per entry, which dominated loading the Go database.
		data, err := os.ReadFile(path)
		if err != nil {
			return mamori.Wrap(mamori.ENOTFOUND, err, fmt.Sprintf("Cannot read %s.", path))
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return mamori.Wrap(mamori.EINVALID, err, fmt.Sprintf("%s is not a readable zip archive.", path))
		}
		for _, f := range zr.File {
			if f.FileInfo().IsDir() || !strings.HasSuffix(strings.ToLower(f.Name), ".json") {
				continue
			}
			jobs = append(jobs, job{name: path + ":" + f.Name, entry: f})
		}
		return nil
	}
	for _, root := range paths {
		info, err := os.Stat(root)
		if err != nil {
			return nil, mamori.Wrap(mamori.ENOTFOUND, err, fmt.Sprintf("Cannot read advisories from %s.", root))
		}
		if !info.IsDir() {
			if strings.HasSuffix(strings.ToLower(root), ".zip") {
				if err := addZip(root); err != nil {
					return nil, err
				}
			} else {
				jobs = append(jobs, job{name: root, path: root})
			}
			continue
		}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if strings.HasPrefix(name, ".") && path != root {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				return nil
			}
			switch lower := strings.ToLower(name); {
			case strings.HasSuffix(lower, ".zip"):
				return addZip(path)
			case strings.HasSuffix(lower, ".json"):
				jobs = append(jobs, job{name: path, path: path})
			}
			return nil
		})
		if err != nil {
			var ae *mamori.Error
			if errors.As(err, &ae) {
				return nil, err
			}
			return nil, mamori.Wrap(mamori.ENOTFOUND, err, fmt.Sprintf("Cannot read advisories from %s.", root))
		}
	}
	return run(ctx, jobs)
}

type outcome struct {
	advs []vuln.Advisory
	err  error
}

func run(ctx context.Context, jobs []job) (*Result, error) {
	out := make([]outcome, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), max(len(jobs), 1))
	for range workers {
		wg.Go(func() {
			var buf []byte
			for i := range next {
				out[i], buf = read(jobs[i], buf)
			}
		})
	}
feed:
	for i := range jobs {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	res := &Result{}
	byID := map[string]int{} // ID → index in res.Advisories
	for i, o := range out {
		if o.err != nil {
			res.Problems = append(res.Problems, Problem{File: jobs[i].name, Err: o.err})
			continue
		}
		for _, a := range o.advs {
			res.Documents++
			if a.IsWithdrawn() {
				res.Withdrawn++
				continue
			}
			if a.Source == "" {
				a.Source = jobs[i].name
			}
			if j, dup := byID[a.ID]; dup {
				res.Duplicates++
				if a.Modified.After(res.Advisories[j].Modified) {
					res.Advisories[j] = a
				}
				continue
			}
			byID[a.ID] = len(res.Advisories)
			res.Advisories = append(res.Advisories, a)
		}
	}
	// A withdrawn copy of an ID means the ID is withdrawn, whatever
	// order the copies came in.
	withdrawn := map[string]bool{}
	for _, o := range out {
		for _, a := range o.advs {
			if a.IsWithdrawn() {
				withdrawn[a.ID] = true
			}
		}
	}
	if len(withdrawn) > 0 {
		kept := res.Advisories[:0]
		for _, a := range res.Advisories {
			if !withdrawn[a.ID] {
				kept = append(kept, a)
			}
		}
		res.Advisories = kept
	}
	sort.Slice(res.Problems, func(i, j int) bool { return res.Problems[i].File < res.Problems[j].File })
	return res, nil
}

// read decodes one job, reusing buf for the document's bytes.
func read(j job, buf []byte) (outcome, []byte) {
	var r io.ReadCloser
	var size int64
	var err error
	if j.entry != nil {
		size = int64(j.entry.UncompressedSize64)
		r, err = j.entry.Open()
	} else {
		var f *os.File
		f, err = os.Open(j.path)
		if err == nil {
			if st, serr := f.Stat(); serr == nil {
				size = st.Size()
			}
		}
		r = f
	}
	if err != nil {
		return outcome{err: mamori.Wrap(mamori.EINVALID, err, "Cannot open the file.")}, buf
	}
	defer r.Close()
	if size > MaxFileSize {
		return outcome{err: mamori.Errorf(mamori.ETOOLARGE, "The file is larger than %d MB.", MaxFileSize>>20)}, buf
	}
	if int64(cap(buf)) < size {
		buf = make([]byte, size, size+size/4)
	}
	buf = buf[:size]
	// The size is known (zip header or stat), so one ReadFull suffices; a
	// zip entry whose data disagrees with its header fails its checksum.
	if _, err := io.ReadFull(r, buf); err != nil {
		return outcome{err: mamori.Wrap(mamori.EINVALID, err, "Cannot read the file: "+err.Error()+".")}, buf
	}
	if n, _ := r.Read(make([]byte, 1)); n != 0 {
		return outcome{err: mamori.Errorf(mamori.EINVALID, "The file changed while it was read.")}, buf
	}
	advs, err := DecodeMany(buf)
	if err != nil {
		return outcome{err: err}, buf
	}
	return outcome{advs: advs}, buf
}

// DecodeMany reads a document holding one advisory or a JSON array of
// them.
func DecodeMany(data []byte) ([]vuln.Advisory, error) {
	trimmed := strings.TrimLeft(string(data[:min(len(data), 64)]), " \t\r\n\ufeff")
	if !strings.HasPrefix(trimmed, "[") {
		a, err := Decode(data)
		if err != nil {
			return nil, err
		}
		return []vuln.Advisory{a}, nil
	}
	var ws []advisoryJSON
	if err := json.Unmarshal(data, &ws); err != nil {
		return nil, jsonError(data, err)
	}
	out := make([]vuln.Advisory, 0, len(ws))
	for i := range ws {
		a, err := fromJSON(&ws[i])
		if err != nil {
			return nil, mamori.Wrap(mamori.EINVALID, err, fmt.Sprintf("Advisory %d (%s): %s", i, ws[i].ID, mamori.ErrorMessage(err)))
		}
		out = append(out, a)
	}
	return out, nil
}
