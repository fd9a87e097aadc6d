// Command registry is the real-node tier's registry: an in-memory OCI
// distribution registry on loopback that the node's runtimes pull from, as an
// air-gapped site's mirror. At start it builds and pushes the images the
// scenarios need from local files, since no internet registry is reachable:
//
//	library/busybox:1.36  busybox-static with its applets (sh, sleep, nsenter…)
//	k8s/pause:3.10        the pause binary as /pause
//
// It serves until SIGINT/SIGTERM and writes its address to --ready-file once
// every image is pushed.
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:25000", "address to serve on")
	busybox := flag.String("busybox", "/bin/busybox", "a static busybox binary")
	pause := flag.String("pause", "", "the pause binary")
	ready := flag.String("ready-file", "", "written with the address once every image is pushed")
	flag.Parse()
	if err := run(*listen, *busybox, *pause, *ready); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

func run(listen, busybox, pause, ready string) error {
	if pause == "" {
		return errors.New("--pause is required")
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(os.Stdout, "", log.LstdFlags))), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	images, err := buildImages(busybox, pause)
	if err != nil {
		return err
	}
	for ref, img := range images {
		if err := push(ln.Addr().String(), ref, img); err != nil {
			return err
		}
	}
	if ready != "" {
		if err := os.WriteFile(ready, []byte(ln.Addr().String()+"\n"), 0o644); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return srv.Close()
}

func push(addr, ref string, img v1.Image) error {
	r, err := name.ParseReference(addr+"/"+ref, name.Insecure)
	if err != nil {
		return err
	}
	if err := remote.Write(r, img); err != nil {
		return fmt.Errorf("pushing %s: %w", r, err)
	}
	log.Printf("pushed %s", r)
	return nil
}

func buildImages(busybox, pause string) (map[string]v1.Image, error) {
	bb, err := busyboxLayer(busybox)
	if err != nil {
		return nil, err
	}
	box, err := image(bb, v1.Config{Cmd: []string{"sh"}, Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}})
	if err != nil {
		return nil, err
	}
	pl, err := fileLayer(map[string]string{"pause": pause})
	if err != nil {
		return nil, err
	}
	p, err := image(pl, v1.Config{Entrypoint: []string{"/pause"}})
	if err != nil {
		return nil, err
	}
	return map[string]v1.Image{"library/busybox:1.36": box, "k8s/pause:3.10": p}, nil
}

func image(layer v1.Layer, cfg v1.Config) (v1.Image, error) {
	base, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		Architecture: "amd64", OS: "linux", Config: cfg,
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	return mutate.AppendLayers(base, layer)
}

// busyboxLayer puts busybox at /bin/busybox with a symlink per applet, and
// the directories a container expects.
func busyboxLayer(path string) (v1.Layer, error) {
	out, err := exec.Command(path, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("listing %s applets: %w", path, err)
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"bin/", "sbin/", "usr/", "usr/bin/", "usr/sbin/", "tmp/", "etc/", "proc/", "sys/", "dev/", "root/"} {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: mode}); err != nil {
			return nil, err
		}
	}
	if err := writeFile(tw, "bin/busybox", bin, 0o755); err != nil {
		return nil, err
	}
	if err := writeFile(tw, "etc/passwd", []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644); err != nil {
		return nil, err
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "bin/busybox" {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: applet, Typeflag: tar.TypeSymlink, Linkname: "/bin/busybox", Mode: 0o777}); err != nil {
			return nil, err
		}
	}
	return tarLayer(tw, &buf)
}

// fileLayer puts each local file at the image path it is keyed by.
func fileLayer(files map[string]string) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for dst, src := range files {
		b, err := os.ReadFile(src)
		if err != nil {
			return nil, err
		}
		if err := writeFile(tw, dst, b, 0o755); err != nil {
			return nil, err
		}
	}
	return tarLayer(tw, &buf)
}

func writeFile(tw *tar.Writer, name string, body []byte, mode int64) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(body))}); err != nil {
		return err
	}
	_, err := tw.Write(body)
	return err
}

func tarLayer(tw *tar.Writer, buf *bytes.Buffer) (v1.Layer, error) {
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	})
}
