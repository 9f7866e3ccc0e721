package lsl

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// waveInterval is how often a resolve repeats its queries (liblsl's
// MulticastMinRTT).
const waveInterval = 500 * time.Millisecond

// ErrNotFound is wrapped by Resolve's error when fewer streams than asked
// for answered in time.
var ErrNotFound = errors.New("lsl: stream not found")

// Resolve finds streams of the configured session that match pred (an
// XPath predicate such as Predicate or ParseSelector make; "" for all).
// With want > 0 it returns as soon as that many answered, else an error
// wrapping ErrNotFound when ctx ends; with want <= 0 it gathers until ctx
// ends and returns what answered (the way GetAllStreams looks for a
// second).
//
// Queries go to every discovery address (multicast on each configured
// interface, broadcast and 127.0.0.1) every half second; answers carry
// the stream's short description, whose V4Address Resolve fills in from
// the answer's source.
func Resolve(ctx context.Context, pred string, want int, opts ...Option) ([]StreamInfo, error) {
	o := buildOptions(opts)
	cfg := o.cfg
	if err := guardDiscovery(); err != nil {
		return nil, err
	}
	query := "session_id='" + cfg.SessionID + "'"
	if pred != "" {
		if _, err := CompileQuery(pred); err != nil {
			return nil, err
		}
		query += " and (" + pred + ")"
	}
	ifs, err := cfg.interfaces()
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{})
	if err != nil {
		return nil, fmt.Errorf("lsl: resolve: %w", err)
	}
	defer conn.Close()
	if err := setBroadcast(conn); err != nil {
		o.logf("lsl: resolve: broadcast: %v", err)
	}
	id := strconv.FormatUint(rand.Uint64(), 10)
	msg := shortinfoRequest(query, conn.LocalAddr().(*net.UDPAddr).Port, id)

	found := map[string]StreamInfo{}
	var order []string
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) }) //nolint:errcheck // wakes the read
	defer stop()
	buf := make([]byte, 65536)
	for next := time.Now(); ; {
		if now := time.Now(); !now.Before(next) {
			sendWave(conn, cfg, ifs, msg, o.logf)
			next = now.Add(waveInterval)
		}
		if ctx.Err() != nil {
			break
		}
		conn.SetReadDeadline(next) //nolint:errcheck // a closed conn fails the read
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			continue // deadline: next wave; or an ICMP error
		}
		rid, x, ok := parseShortinfoReply(buf[:n])
		if !ok || rid != id {
			continue
		}
		si, err := ParseInfo(x)
		if err != nil {
			o.logf("lsl: resolve: answer from %s: %v", from, err)
			continue
		}
		if si.V4Address == "" {
			si.V4Address = from.Addr().Unmap().String()
		}
		if _, dup := found[si.UID]; !dup {
			found[si.UID] = si
			order = append(order, si.UID)
		}
		if want > 0 && len(found) >= want {
			break
		}
	}
	out := make([]StreamInfo, 0, len(order))
	for _, u := range order {
		out = append(out, found[u])
	}
	if want > 0 && len(out) < want {
		return out, fmt.Errorf("%w: %d of %d streams matching %q answered: %v", ErrNotFound, len(out), want, pred, ctx.Err())
	}
	return out, nil
}

func sendWave(conn *net.UDPConn, cfg Config, ifs []net.Interface, msg []byte, logf func(string, ...any)) {
	send := func(g netip.Addr) {
		to := net.UDPAddrFromAddrPort(netip.AddrPortFrom(g, uint16(cfg.MulticastPort)))
		if _, err := conn.WriteToUDP(msg, to); err != nil {
			logf("lsl: resolve: query to %s: %v", to, err)
		}
	}
	for _, g := range cfg.Groups {
		if g.Is4() && !g.IsMulticast() {
			send(g) // broadcast and unicast go by the routing table
		}
	}
	for _, i := range ifs {
		if err := setMulticastIf(conn, i, cfg.TTL); err != nil {
			logf("lsl: resolve: interface %s: %v", i.Name, err)
			continue
		}
		for _, g := range cfg.Groups {
			if g.Is4() && g.IsMulticast() {
				send(g)
			}
		}
	}
}
