package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"

	"github.com/crimig/kubectl-crimig/pkg/hostscripts"
	"github.com/crimig/kubectl-crimig/pkg/inspect"
)

// uploadBundle puts an offline bundle in the run's directory on the host.
// A bundle is large and often the same from run to run, so it is streamed
// only when the host has no copy with the same sha256 yet.
func (r *run) uploadBundle(ctx context.Context, file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("opening bundle: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", err
	}
	dst := path.Join(r.runDir(), "bundle", filepath.Base(file))
	if r.bundleOnHost(ctx, f, dst, info.Size()) {
		return dst, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("reading bundle: %w", err)
	}
	pr := &progressReader{r: f, total: info.Size(), report: func(done, total int64) {
		r.e.emitProgress(r.node, inspect.StepInstall, PhaseProgress, fmt.Sprintf("uploading %s: %d/%d MiB", filepath.Base(file), done>>20, total>>20), float64(done)/float64(total))
	}}
	if err := r.e.Host.Upload(ctx, r.node, dst, pr, info.Size(), 0o600); err != nil {
		return "", fmt.Errorf("uploading bundle: %w", err)
	}
	return dst, nil
}

// bundleOnHost reports whether dst now holds the bundle's content, found on
// the host at dst or in an earlier run's directory. Any trouble checking
// means "no": the upload that follows is always correct, only slower.
func (r *run) bundleOnHost(ctx context.Context, f io.Reader, dst string, size int64) bool {
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false
	}
	sum := hex.EncodeToString(h.Sum(nil))
	res, err := r.e.Host.Run(ctx, r.node, hostscripts.Get(hostscripts.ReuseFile), map[string]string{
		"CRIMIG_DEST": dst, "CRIMIG_SHA256": sum, "CRIMIG_SIZE": strconv.FormatInt(size, 10),
		"CRIMIG_MODE": "0600", "CRIMIG_SEARCH_DIR": hostscripts.StateDir,
	})
	if err != nil || res.ExitCode != 0 {
		r.e.emit(r.node, inspect.StepInstall, PhaseInfo, "could not check the host for a copy of the bundle; uploading it")
		return false
	}
	found, err := hostscripts.ParseReuseResult(res.Stdout)
	if err != nil || !found.Found {
		return false
	}
	r.e.emit(r.node, inspect.StepInstall, PhaseInfo, fmt.Sprintf("%s is already on the host (%s, sha256 %s): not uploaded again",
		filepath.Base(dst), found.From, sum[:12]))
	return true
}

type progressReader struct {
	r          io.Reader
	done, last int64
	total      int64
	report     func(done, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if p.done-p.last >= 4<<20 || (err == io.EOF && p.done != p.last) {
		p.last = p.done
		p.report(p.done, p.total)
	}
	return n, err
}
