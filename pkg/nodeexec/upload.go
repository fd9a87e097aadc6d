package nodeexec

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
)

// Upload streams size bytes from r to hostPath on node's host with mode.
// The host writes a temporary file, checks the sha256 that is computed here
// while sending (nothing is buffered: bundles can be hundreds of MB) and
// only then renames it into place.
func (e *Executor) Upload(ctx context.Context, node, hostPath string, r io.Reader, size int64, mode os.FileMode) error {
	if !path.IsAbs(hostPath) || path.Clean(hostPath) != hostPath {
		return fmt.Errorf("upload destination %q must be a clean absolute path", hostPath)
	}
	if size < 0 {
		return fmt.Errorf("upload of %s: size %d is negative", hostPath, size)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	body := newUploadBody(r, size, cancel)
	env := map[string]string{
		"CRIMIG_DEST": hostPath,
		"CRIMIG_SIZE": strconv.FormatInt(size, 10),
		"CRIMIG_MODE": fmt.Sprintf("%04o", mode.Perm()),
	}
	res, err := e.run(ctx, node, hostscripts.Get(hostscripts.Upload), env, body, false)
	if body.err != nil {
		return fmt.Errorf("uploading %s to node %s: %w", hostPath, node, body.err)
	}
	if err != nil {
		return fmt.Errorf("uploading %s to node %s: %w", hostPath, node, err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("uploading %s to node %s failed (exit %d): %s", hostPath, node, res.ExitCode,
			strings.TrimSpace(string(res.Stderr)))
	}
	if got := strings.TrimSpace(string(res.Stdout)); got != body.sum {
		return fmt.Errorf("uploading %s to node %s: the host reported sha256 %q, sent %q", hostPath, node, got, body.sum)
	}
	return nil
}

// uploadBody is the exec stdin: the data, hashed on the way, then the hash
// as 64 hex characters. A short source cancels the exec, because the host
// waits for the full length and would never see EOF on some transports.
type uploadBody struct {
	data   io.Reader
	hash   hash.Hash
	left   int64
	tail   io.Reader
	sum    string
	err    error
	cancel context.CancelCauseFunc
}

func newUploadBody(r io.Reader, size int64, cancel context.CancelCauseFunc) *uploadBody {
	h := sha256.New()
	return &uploadBody{data: io.TeeReader(io.LimitReader(r, size), h), hash: h, left: size, cancel: cancel}
}

func (b *uploadBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.left > 0 {
		n, err := b.data.Read(p)
		b.left -= int64(n)
		if errors.Is(err, io.EOF) && b.left > 0 {
			return n, b.fail(fmt.Errorf("the source ended %d bytes short of the announced size", b.left))
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return n, b.fail(fmt.Errorf("reading the source: %w", err))
		}
		return n, nil
	}
	if b.tail == nil {
		b.sum = hex.EncodeToString(b.hash.Sum(nil))
		b.tail = strings.NewReader(b.sum)
	}
	return b.tail.Read(p)
}

func (b *uploadBody) fail(err error) error {
	b.err = err
	b.cancel(err)
	return err
}
