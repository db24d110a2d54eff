package osv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/vuln"
)

// snapshotVersion changes whenever the snapshot's content or vuln.Advisory
// changes shape, so an old cache is never read as a new one.
const snapshotVersion = "mamori-osv-snapshot-2"

// snapshotChunks is how many independently decodable parts the advisories
// are split into, so that reading a snapshot uses every core.
const snapshotChunks = 8

// snapshot is what LoadCached keeps: the decoded advisories without the
// parts of the JSON mamori drops (Go's symbol lists, credits…). It is a
// tenth of the JSON's size and decodes about ten times faster.
type snapshot struct {
	Version     string
	Fingerprint string
	Problems    []snapshotProblem
	Documents   int
	Withdrawn   int
	Duplicates  int
	// Chunks are the byte lengths of the gob-encoded []vuln.Advisory
	// parts that follow the header in the file.
	Chunks []int
}

type snapshotProblem struct{ File, Message string }

// LoadCached is Load with a cache: the result for the same paths, with
// every file at the same size and modification time, is read from a
// snapshot in cacheDir instead of decoding the JSON again; otherwise Load
// runs and the snapshot is (re)written. A cache that cannot be read or
// written is ignored: the advisories still load. fromCache reports whether
// the snapshot was used.
func LoadCached(ctx context.Context, cacheDir string, paths ...string) (res *Result, fromCache bool, err error) {
	fp, err := fingerprint(paths)
	if err != nil {
		return nil, false, err
	}
	// One file per set of paths, replaced when their files change, so
	// updates of the data do not pile up snapshots.
	h := sha256.New()
	for _, p := range paths {
		abs, _ := filepath.Abs(p)
		io.WriteString(h, abs+"\x00")
	}
	file := filepath.Join(cacheDir, "osv-"+hex.EncodeToString(h.Sum(nil))[:32]+".gob")
	if res, ok := readSnapshot(file, fp); ok {
		return res, true, nil
	}
	res, err = Load(ctx, paths...)
	if err != nil {
		return nil, false, err
	}
	_ = writeSnapshot(cacheDir, file, fp, res) // a cache is an optimisation only
	return res, false, nil
}

// fingerprint hashes the absolute path, size and modification time of
// every advisory file under paths.
func fingerprint(paths []string) (string, error) {
	var lines []string
	for _, root := range paths {
		abs, err := filepath.Abs(root)
		if err != nil {
			return "", err
		}
		err = filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			lower := strings.ToLower(path)
			if path != abs && !strings.HasSuffix(lower, ".json") && !strings.HasSuffix(lower, ".zip") {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			lines = append(lines, fmt.Sprintf("%s\x00%d\x00%d", path, info.Size(), info.ModTime().UnixNano()))
			return nil
		})
		if err != nil {
			return "", mamori.Wrap(mamori.ENOTFOUND, err, fmt.Sprintf("Cannot read advisories from %s.", root))
		}
	}
	sort.Strings(lines)
	h := sha256.New()
	io.WriteString(h, snapshotVersion+"\n")
	for _, l := range lines {
		io.WriteString(h, l+"\n")
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func readSnapshot(file, fp string) (*Result, bool) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, false
	}
	r := bytes.NewReader(data)
	var s snapshot
	if err := gob.NewDecoder(r).Decode(&s); err != nil || s.Version != snapshotVersion || s.Fingerprint != fp {
		return nil, false
	}
	rest := data[len(data)-r.Len():]
	total := 0
	for _, n := range s.Chunks {
		if n < 0 || total+n > len(rest) {
			return nil, false
		}
		total += n
	}
	parts := make([][]vuln.Advisory, len(s.Chunks))
	errs := make([]error, len(s.Chunks))
	var wg sync.WaitGroup
	off := 0
	for i, n := range s.Chunks {
		chunk := rest[off : off+n]
		off += n
		wg.Go(func() { errs[i] = gob.NewDecoder(bytes.NewReader(chunk)).Decode(&parts[i]) })
	}
	wg.Wait()
	if errors.Join(errs...) != nil {
		return nil, false
	}
	res := &Result{Documents: s.Documents, Withdrawn: s.Withdrawn, Duplicates: s.Duplicates}
	res.Advisories = make([]vuln.Advisory, 0, s.Documents)
	for _, p := range parts {
		res.Advisories = append(res.Advisories, p...)
	}
	for _, p := range s.Problems {
		res.Problems = append(res.Problems, Problem{File: p.File, Err: mamori.Errorf(mamori.EINVALID, "%s", p.Message)})
	}
	return res, true
}

func writeSnapshot(dir, file, fp string, res *Result) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	s := snapshot{Version: snapshotVersion, Fingerprint: fp, Documents: res.Documents, Withdrawn: res.Withdrawn, Duplicates: res.Duplicates}
	for _, p := range res.Problems {
		s.Problems = append(s.Problems, snapshotProblem{File: p.File, Message: strings.TrimPrefix(p.Error(), p.File+": ")})
	}
	var chunks [][]byte
	n := len(res.Advisories)
	for i := range snapshotChunks {
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(res.Advisories[i*n/snapshotChunks : (i+1)*n/snapshotChunks]); err != nil {
			return err
		}
		chunks = append(chunks, buf.Bytes())
		s.Chunks = append(s.Chunks, buf.Len())
	}
	tmp, err := os.CreateTemp(dir, ".osv-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<16)
	err = gob.NewEncoder(w).Encode(&s)
	for _, c := range chunks {
		if err == nil {
			_, err = w.Write(c)
		}
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// Rename is atomic: a concurrent reader sees the old or the new file.
	return os.Rename(tmp.Name(), file)
}
