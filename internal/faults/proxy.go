package faults

import (
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy is a TCP proxy on the loopback that a test puts between a client
// and a server (PostgreSQL) to cut the server off: Block terminates every
// connection through it and refuses new ones until Unblock.
type Proxy struct {
	target string
	ln     net.Listener

	mu      sync.Mutex
	blocked bool
	closed  bool
	conns   map[net.Conn]struct{} // both ends of every proxied connection
	wg      sync.WaitGroup

	accepted atomic.Int64 // connections forwarded
	refused  atomic.Int64 // connections refused while blocked
}

// StartProxy listens on a free loopback port and forwards every connection
// to target (host:port). It closes when the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("faults: proxy listen: %v", err)
	}
	p := &Proxy{target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.acceptLoop()
	t.Cleanup(p.Close)
	return p
}

// ProxyDatabase starts a proxy to the PostgreSQL server of databaseURL and
// returns it with the URL that reaches the same database through it.
func ProxyDatabase(t testing.TB, databaseURL string) (*Proxy, string) {
	t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil || u.Host == "" || u.Port() == "" {
		t.Fatalf("faults: the database URL %q must name a TCP host:port to proxy (%v)", databaseURL, err)
	}
	p := StartProxy(t, u.Host)
	u.Host = p.Addr()
	return p, u.String()
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Accepted counts the connections forwarded so far.
func (p *Proxy) Accepted() int64 { return p.accepted.Load() }

// Refused counts the connections refused while blocked.
func (p *Proxy) Refused() int64 { return p.refused.Load() }

// Block terminates every open connection (with a reset, as a crashed server
// or a broken network would) and refuses the new ones until Unblock.
func (p *Proxy) Block() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = true
	for c := range p.conns {
		reset(c)
	}
	clear(p.conns)
}

// Unblock lets new connections through again.
func (p *Proxy) Unblock() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = false
}

// Close stops the proxy and ends every connection through it.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	_ = p.ln.Close()
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			time.Sleep(10 * time.Millisecond) // e.g. too many open files: let it pass
			continue
		}
		p.wg.Add(1)
		go p.serve(client)
	}
}

// serve forwards one connection, or refuses it while blocked. The listener
// stays open while blocked, so no other process can take its port; the
// client sees its connection reset at once, as with a refused one.
func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	if !p.track(client) {
		p.refused.Add(1)
		reset(client)
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil || !p.track(server) {
		if server != nil {
			_ = server.Close()
		}
		p.untrack(client)
		reset(client)
		return
	}
	p.accepted.Add(1)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(server, client)
	go pipe(client, server)
	<-done // one side ended: end both, PostgreSQL has no use for half-closed connections
	p.untrack(client)
	p.untrack(server)
	_ = client.Close()
	_ = server.Close()
	<-done
}

// track registers an open connection; false when blocked or closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.blocked || p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}

// reset closes a connection with a TCP RST rather than an orderly FIN.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
