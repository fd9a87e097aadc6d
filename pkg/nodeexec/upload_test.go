package nodeexec

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestUploadStreamsAndVerifies(t *testing.T) {
	client := fakeCluster(t, nil, readyNode("node-1"))
	e := newTestExecutor(t, client, localStreams(), Options{})
	data := make([]byte, 5<<20+7)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "bundles", "cri-o.tar.gz")
	// A plain io.Reader (not a bytes.Reader) proves nothing relies on Seek or Len.
	src := struct{ io.Reader }{bytes.NewReader(data)}
	if err := e.Upload(context.Background(), "node-1", dest, src, int64(len(data)), 0o640); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dest)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("uploaded file differs (%d bytes, err %v)", len(got), err)
	}
	if st, _ := os.Stat(dest); st.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v", st.Mode().Perm())
	}
}

func TestUploadShortSourceFailsFast(t *testing.T) {
	client := fakeCluster(t, nil, readyNode("node-1"))
	e := newTestExecutor(t, client, localStreams(), Options{})
	dest := filepath.Join(t.TempDir(), "f")
	done := make(chan error, 1)
	go func() {
		done <- e.Upload(context.Background(), "node-1", dest, strings.NewReader("short"), 100, 0o644)
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "95 bytes short") {
			t.Errorf("err = %v, want the short source named", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("upload of a short source hung: the host waits by length and sees no EOF")
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Error("a failed upload created the destination")
	}
}

func TestUploadBodyHashesWhileStreaming(t *testing.T) {
	body := newUploadBody(strings.NewReader("hello"), 5, func(error) {})
	out, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	const sum = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	if string(out) != "hello"+sum || body.sum != sum {
		t.Errorf("body = %q, sum %q", out, body.sum)
	}
}

func TestUploadRejectsRelativePaths(t *testing.T) {
	e := newExecutor(fakeCluster(t, nil), Options{}, localStreams())
	for _, p := range []string{"etc/x", "/etc/../x", ""} {
		if err := e.Upload(context.Background(), "n", p, strings.NewReader(""), 0, 0o644); err == nil {
			t.Errorf("Upload accepted %q", p)
		}
	}
}
