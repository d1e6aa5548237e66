package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/moby/moby/client"
)

// PutFile writes one file into a container (created or running) through
// the API, e.g. a probe binary.
func (e *Engine) PutFile(ctx context.Context, id, dir, name string, data []byte, mode int64) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write(data); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if _, err := e.API.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: dir, Content: &buf}); err != nil {
		return fmt.Errorf("copy %s into container %s: %w", name, short(id), err)
	}
	return nil
}

// Archive streams path out of a container as the daemon's tar of it, the
// stream `docker cp` reads: no process runs in the container for it.
func (e *Engine) Archive(ctx context.Context, id, path string) (io.ReadCloser, error) {
	res, err := e.API.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: path})
	if err != nil {
		return nil, fmt.Errorf("copy %s out of container %s: %w", path, short(id), err)
	}
	return res.Content, nil
}

// PutArchive extracts a tar stream at dir in a container (created or
// running). The error is the daemon's as it is: callers say what they copied.
func (e *Engine) PutArchive(ctx context.Context, id, dir string, content io.Reader) error {
	_, err := e.API.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: dir, Content: content})
	return err
}
