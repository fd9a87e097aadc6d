// Package apiproxy is "the API server on the control-plane node": a raw TCP
// proxy in front of the sandbox's kube-apiserver that listens only while the
// simulated control plane runs. TLS passes through untouched. While it does
// not serve, its port is closed (clients get ECONNREFUSED, as from a stopped
// kube-apiserver) and every connection it proxied has been cut.
package apiproxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Proxy forwards Listen to Upstream while serving.
type Proxy struct {
	Listen   string // e.g. 127.0.0.1:16444
	Upstream string // e.g. 127.0.0.1:16443
	// DialTimeout bounds the upstream dial (default 5s).
	DialTimeout time.Duration

	mu      sync.Mutex
	ln      net.Listener
	conns   map[net.Conn]struct{} // client and upstream sides
	wg      sync.WaitGroup
	serving bool
}

// Serving reports whether the proxy listens.
func (p *Proxy) Serving() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.serving
}

// SetServing opens the port (on) or closes it and cuts every proxied
// connection (off). It is idempotent; opening fails when the port is taken.
func (p *Proxy) SetServing(on bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on == p.serving {
		return nil
	}
	if !on {
		p.serving = false
		_ = p.ln.Close()
		p.ln = nil
		for c := range p.conns {
			_ = c.Close()
		}
		p.conns = nil
		return nil
	}
	ln, err := net.Listen("tcp", p.Listen)
	if err != nil {
		return fmt.Errorf("API server proxy: %w", err)
	}
	p.ln, p.serving, p.conns = ln, true, map[net.Conn]struct{}{}
	p.wg.Add(1)
	go p.accept(ln)
	return nil
}

// Close stops serving and waits for the proxy's goroutines.
func (p *Proxy) Close() error {
	err := p.SetServing(false)
	p.wg.Wait()
	return err
}

func (p *Proxy) accept(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // EMFILE and the like
			continue
		}
		p.wg.Add(1)
		go p.forward(ln, c)
	}
}

// track records c unless the listener it came through has been closed
// meanwhile, in which case c is closed.
func (p *Proxy) track(ln net.Listener, c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != ln {
		_ = c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(ln net.Listener, cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
		if p.ln == ln {
			delete(p.conns, c)
		}
	}
}

func (p *Proxy) forward(ln net.Listener, client net.Conn) {
	defer p.wg.Done()
	if !p.track(ln, client) {
		return
	}
	timeout := p.DialTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	up, err := net.DialTimeout("tcp", p.Upstream, timeout)
	if err != nil {
		p.untrack(ln, client)
		return
	}
	if !p.track(ln, up) {
		p.untrack(ln, client)
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// Pass a half-close on, so a client that shuts down its write side
		// still gets the rest of the response.
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, client)
	go pipe(client, up)
	<-done
	<-done
	p.untrack(ln, client, up)
}

// Addr is the address the proxy listens on while serving.
func (p *Proxy) Addr() string { return p.Listen }
