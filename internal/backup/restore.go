package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/files"
)

// RestoreOptions say where a backup goes besides the database.
type RestoreOptions struct {
	Sealer    Sealer           // the key-encryption key the backup was made with
	Trusted   *audit.Verifiers // keys trusted to have signed it
	FilesRoot string           // DATA_DIR/files of the target
	KeysDir   string           // the target's keys folder: signing.pub is merged into it
}

// Restore checks a backup (signature, integrity) and restores it into an
// empty target database and files directory, in one transaction: a
// damaged entry, a file that does not match its SHA-256 or an audit trail
// in the backup that does not verify leaves the target empty. The report
// says what was restored; the caller then verifies the restored store.
func Restore(ctx context.Context, path string, target Target, o RestoreOptions) (*Report, error) {
	start := time.Now()
	rep := &Report{}
	op, err := open(path, o.Trusted, rep)
	if err != nil {
		return nil, err
	}
	if op == nil || !rep.OK() {
		if op != nil {
			op.Close()
		}
		return rep, mamori.Errorf(mamori.EINVALID, "The backup cannot be restored: %s", strings.Join(rep.Problems, "; "))
	}
	defer op.Close()
	rd := newReader(ctx, o.Trusted, o.Sealer)
	var written []string
	var pubKeys []byte
	err = target.Restore(ctx, op.hdr.SchemaVersion, func(im Importer) error {
		var cur TableWriter
		var curName string
		closeCur := func() error {
			if cur == nil {
				return nil
			}
			_, err := cur.Close(ctx)
			cur = nil
			return err
		}
		write := func(table string, cols []string, row []any) error {
			if table != curName || cur == nil {
				if err := closeCur(); err != nil {
					return err
				}
				w, err := im.Table(table, cols)
				if err != nil {
					return err
				}
				cur, curName = w, table
			}
			return cur.Write(ctx, row)
		}
		man, err := op.walk(ctx, o.Sealer, func(name string, r io.Reader) error {
			switch {
			case strings.HasPrefix(name, "files/"):
				dst, err := restoreFile(o.FilesRoot, name)
				if err != nil {
					return err
				}
				written = append(written, dst.Name())
				err = rd.entry(name, io.TeeReader(r, dst), nil)
				if cerr := closeSynced(dst); err == nil {
					err = cerr
				}
				return err
			case name == "keys/"+audit.VerifierKeysFile:
				b, err := io.ReadAll(io.LimitReader(r, 1<<20))
				pubKeys = b
				return err
			}
			return rd.entry(name, r, write)
		})
		if err := closeCur(); err != nil && man != nil {
			return err
		}
		rd.check(rep, man, err)
		if !rep.OK() {
			return mamori.Errorf(mamori.EINVALID, "The backup cannot be restored: %s", strings.Join(rep.Problems, "; "))
		}
		return nil
	})
	if err != nil {
		for _, p := range written {
			os.Remove(p)
		}
		return rep, err
	}
	// Files were written under temporary names; the database now refers
	// to them, so they take their final names.
	for _, p := range written {
		if err := os.Rename(p, strings.TrimSuffix(p, ".restoring")); err != nil {
			return rep, err
		}
	}
	if len(pubKeys) > 0 && o.KeysDir != "" {
		if err := mergeVerifierKeys(o.KeysDir, pubKeys); err != nil {
			return rep, err
		}
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

// restoreFile creates the temporary file a stored file is restored into.
func restoreFile(root, name string) (*os.File, error) {
	base := strings.TrimPrefix(name, "files/")
	sha, blob, ok := strings.Cut(base, ".")
	if !ok || validFileName(sha, blob) != nil {
		return nil, fmt.Errorf("the archive has a malformed file entry %q", name)
	}
	p := files.Path(root, sha, blob) + ".restoring"
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, err
	}
	return os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
}

func closeSynced(f *os.File) error {
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// mergeVerifierKeys adds the backup's public signing keys to the target's.
func mergeVerifierKeys(dir string, b []byte) error {
	var keys []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			keys = append(keys, l)
		}
	}
	v, err := audit.LoadVerifiers(dir)
	if errors.Is(err, os.ErrNotExist) {
		v, err = audit.NewVerifiers()
	}
	if err != nil {
		return err
	}
	if err := v.Add(keys...); err != nil {
		return err
	}
	return audit.SaveVerifiers(dir, v)
}
