package station

import (
	"net"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cueroom/cueroom/hub/wire"
)

// The click-through: the hub relays a station's dashboard to the
// supervisor's browser. The station dials its own dashboard (a plain
// loopback listener, as cueroom run has by default) for each connection the
// hub asks for, and the bytes travel on its own subjects (wire.Subjects
// TunnelUp/TunnelDown), in order, over the leaf node. The hub does the HTTP
// side (tokens, Host, Origin): the station only carries bytes.

// tunnels are the open dashboard connections, by id.
type tunnels struct {
	s     *Station
	mu    sync.Mutex
	conns map[string]*tunnel
}

type tunnel struct {
	id   string
	conn net.Conn
	sub  *nats.Subscription
	once sync.Once
}

// maxChunk is the largest piece of a connection one message carries.
const maxChunk = 32 << 10

func (ts *tunnels) open(m *nats.Msg) {
	var addr string
	if ts.s.cfg.Dashboard != nil {
		addr, _, _ = ts.s.cfg.Dashboard()
	}
	if m.Reply == "" || addr == "" {
		if m.Reply != "" {
			_ = m.Respond([]byte("error: this station's dashboard is not relayed"))
		}
		return
	}
	id := string(m.Data) // the hub's: it listens before it asks
	if wire.ValidName("", id) != nil {
		_ = m.Respond([]byte("error: bad connection id"))
		return
	}
	c, err := net.DialTimeout("tcp", dashboardHost(addr), 5*time.Second)
	if err != nil {
		_ = m.Respond([]byte("error: " + err.Error()))
		return
	}
	t := &tunnel{id: id, conn: c}
	subj := ts.s.subj
	t.sub, err = ts.s.nc.Subscribe(subj.TunnelUp(t.id), func(m *nats.Msg) {
		if len(m.Data) == 0 {
			ts.close(t)
			return
		}
		if _, err := c.Write(m.Data); err != nil {
			ts.close(t)
		}
	})
	if err != nil {
		c.Close()
		_ = m.Respond([]byte("error: " + err.Error()))
		return
	}
	ts.mu.Lock()
	ts.conns[t.id] = t
	ts.mu.Unlock()
	_ = m.Respond([]byte("ok"))
	ts.s.wg.Add(1)
	go func() {
		defer ts.s.wg.Done()
		defer ts.close(t)
		buf := make([]byte, maxChunk)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if ts.s.nc.Publish(subj.TunnelDown(t.id), append([]byte(nil), buf[:n]...)) != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
}

// close ends a connection: the dashboard's side, the subscription, and
// tells the hub (an empty message).
func (ts *tunnels) close(t *tunnel) {
	t.once.Do(func() {
		t.conn.Close()
		_ = t.sub.Unsubscribe()
		_ = ts.s.nc.Publish(ts.s.subj.TunnelDown(t.id), nil)
		ts.mu.Lock()
		delete(ts.conns, t.id)
		ts.mu.Unlock()
	})
}

func (ts *tunnels) closeAll() {
	ts.mu.Lock()
	all := make([]*tunnel, 0, len(ts.conns))
	for _, t := range ts.conns {
		all = append(all, t)
	}
	ts.mu.Unlock()
	for _, t := range all {
		ts.close(t)
	}
}

// dashboardHost is the Host the dashboard expects: its address, with a
// loopback name when it listens on every interface.
func dashboardHost(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" || strings.HasPrefix(host, "0.") {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
