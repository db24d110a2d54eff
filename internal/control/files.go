package control

import (
	"context"
	"io"

	"github.com/mamori-dev/mamori/internal/files"
)

// FileStore adapts the encrypted, content-addressed file store to the
// evidence files of assessments.
func FileStore(f *files.Service) Files { return fileStore{f} }

type fileStore struct{ f *files.Service }

func (s fileStore) Put(ctx context.Context, r io.Reader, name, mediaType string) (FileRef, error) {
	ref, err := s.f.Put(ctx, r, name, mediaType)
	if err != nil {
		return FileRef{}, err
	}
	return FileRef{SHA256: ref.SHA256, Size: ref.Size, Name: ref.Name, MediaType: ref.MediaType}, nil
}

func (s fileStore) Open(ctx context.Context, ref FileRef) (io.ReadCloser, error) {
	return s.f.Open(ctx, files.Ref{SHA256: ref.SHA256, Size: ref.Size, Name: ref.Name, MediaType: ref.MediaType})
}
