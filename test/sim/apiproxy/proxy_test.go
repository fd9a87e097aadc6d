package apiproxy_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crimig/kubectl-crimig/test/sim/apiproxy"
)

// echoServer is the upstream: it echoes lines and reports each
// connection's end on closed.
type echoServer struct {
	ln     net.Listener
	closed chan struct{}
	wg     sync.WaitGroup
}

func newEcho(t *testing.T) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &echoServer{ln: ln, closed: make(chan struct{}, 16)}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				_, _ = io.Copy(c, c)
				_ = c.Close()
				e.closed <- struct{}{}
			}()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); e.wg.Wait() })
	return e
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func newProxy(t *testing.T, upstream string) *apiproxy.Proxy {
	t.Helper()
	p := &apiproxy.Proxy{Listen: freePort(t), Upstream: upstream}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func refused(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		_ = c.Close()
		t.Fatalf("dial %s succeeded, want connection refused", addr)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial %s: %v, want ECONNREFUSED", addr, err)
	}
}

// roundTrip sends a line over c and expects it back.
func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader, line string) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		t.Fatalf("write: %v", err)
	}
	got, err := r.ReadString('\n')
	if err != nil || got != line+"\n" {
		t.Fatalf("read %q, %v; want %q", got, err, line)
	}
}

func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, bufio.NewReader(c)
}

func TestProxyRefusesUntilServing(t *testing.T) {
	up := newEcho(t)
	p := newProxy(t, up.ln.Addr().String())
	refused(t, p.Listen)
	if err := p.SetServing(true); err != nil {
		t.Fatal(err)
	}
	c, r := dial(t, p.Listen)
	roundTrip(t, c, r, "hello")
	if err := p.SetServing(true); err != nil || !p.Serving() {
		t.Fatalf("SetServing(true) again: %v, serving %v", err, p.Serving())
	}
	roundTrip(t, c, r, "still there")
}

func TestProxyStopCutsConnectionsAndReopens(t *testing.T) {
	up := newEcho(t)
	p := newProxy(t, up.ln.Addr().String())
	if err := p.SetServing(true); err != nil {
		t.Fatal(err)
	}
	c1, r1 := dial(t, p.Listen)
	c2, r2 := dial(t, p.Listen)
	roundTrip(t, c1, r1, "one")
	roundTrip(t, c2, r2, "two")

	if err := p.SetServing(false); err != nil {
		t.Fatal(err)
	}
	for i, r := range []*bufio.Reader{r1, r2} {
		_ = []net.Conn{c1, c2}[i].SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := r.ReadString('\n'); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("connection %d after the stop: read error %v, want EOF or reset", i+1, err)
		}
	}
	// The upstream side of both connections is closed too.
	for i := 0; i < 2; i++ {
		select {
		case <-up.closed:
		case <-time.After(2 * time.Second):
			t.Fatalf("upstream connection %d still open after the stop", i+1)
		}
	}
	refused(t, p.Listen)

	if err := p.SetServing(true); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	c3, r3 := dial(t, p.Listen)
	roundTrip(t, c3, r3, "three")
}

func TestProxyClosesClientWhenUpstreamIsDown(t *testing.T) {
	p := newProxy(t, freePort(t))
	if err := p.SetServing(true); err != nil {
		t.Fatal(err)
	}
	c, r := dial(t, p.Listen)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := r.ReadString('\n'); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read through a proxy whose upstream is down: %v, want EOF", err)
	}
}

func TestProxyPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p := &apiproxy.Proxy{Listen: ln.Addr().String(), Upstream: "127.0.0.1:1"}
	if err := p.SetServing(true); err == nil || p.Serving() {
		t.Fatalf("SetServing on a taken port: %v, serving %v", err, p.Serving())
	}
}

func TestProxyPassesHalfClose(t *testing.T) {
	up := newEcho(t)
	p := newProxy(t, up.ln.Addr().String())
	if err := p.SetServing(true); err != nil {
		t.Fatal(err)
	}
	c, _ := dial(t, p.Listen)
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "last words"); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "last words" {
		t.Fatalf("after a half-close: %q, %v", got, err)
	}
}
