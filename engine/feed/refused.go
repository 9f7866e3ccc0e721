package feed

import (
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// refusals rate-limits the log and audit lines of refused requests: a
// scanner or a stale tab retrying with a wrong token must not write one line
// per attempt (thousands), yet nothing is hidden: the first few of each
// interval are written one by one, the rest counted in one summary line.
type refusals struct {
	mu         sync.Mutex
	since      time.Time // start of the current interval
	logged     int       // lines written one by one in it
	suppressed int       // refusals counted, not yet written
	lastRemote string
	lastWhy    string
	timer      *time.Timer // writes the summary at the interval's end
}

// refuse logs a refused request (and audits it when audit is set), within
// the rate limit.
func (s *Server) refuse(remote, what, why string, audit bool) {
	r := &s.refused
	now := time.Now()
	r.mu.Lock()
	if now.Sub(r.since) >= s.lim.refusedEvery {
		r.mu.Unlock()
		s.flushRefused(now)
		r.mu.Lock()
	}
	if r.logged < s.lim.refusedLog {
		r.logged++
		r.mu.Unlock()
		s.logf("feed: refused %s from %s: %s", what, remote, why)
		if audit {
			s.audit(AuditEntry{Event: AuditRefused, Remote: remote, Result: why, Count: 1})
		}
		return
	}
	r.suppressed++
	r.lastRemote, r.lastWhy = remote, why
	if r.timer == nil {
		r.timer = time.AfterFunc(s.lim.refusedEvery-now.Sub(r.since), func() {
			if !s.track() {
				return // Close writes the summary
			}
			defer s.wg.Done()
			s.flushRefused(time.Now())
		})
	}
	r.mu.Unlock()
}

// flushRefused writes the summary of the refusals not written one by one
// and starts a new interval at now.
func (s *Server) flushRefused(now time.Time) {
	r := &s.refused
	r.mu.Lock()
	n, since, remote, why := r.suppressed, r.since, r.lastRemote, r.lastWhy
	r.suppressed, r.logged, r.since = 0, 0, now
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.mu.Unlock()
	if n == 0 {
		return
	}
	msg := fmt.Sprintf("%d more requests refused since %s (the last from %s: %s); at most %d a %v are logged one by one",
		n, since.Format("15:04:05"), remote, why, s.lim.refusedLog, s.lim.refusedEvery)
	s.logf("feed: %s", msg)
	s.audit(AuditEntry{Event: AuditRefused, Remote: remote, Result: msg, Count: n})
}

// ifaceAddr is one address of a network interface.
type ifaceAddr struct {
	iface string
	ip    net.IP
}

// interfaceAddrs lists the addresses of the interfaces that are up (a
// variable so tests can give their own).
var interfaceAddrs = func() []ifaceAddr {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []ifaceAddr
	for _, i := range ifs {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := i.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				out = append(out, ifaceAddr{iface: i.Name, ip: n.IP})
			}
		}
	}
	return out
}

// virtualIface says whether an interface is a container or VM bridge, which
// a tablet on the LAN cannot reach.
func virtualIface(name string) bool {
	for _, p := range []string{"docker", "br-", "veth", "virbr", "vmnet", "cni", "flannel", "podman", "lxc"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// pickHost chooses the host a dashboard URL names when the server listens
// on every interface: a LAN address another device can open (IPv4 first,
// private ranges first, physical interfaces first), else the host name,
// else loopback. Link-local IPv6 is never chosen: it needs a zone that a
// URL cannot carry portably. v4only: the server listens on 0.0.0.0, which
// IPv6 cannot reach.
func pickHost(addrs []ifaceAddr, hostname string, v4only bool) string {
	best, bestRank := "", 0
	for _, a := range addrs {
		ip := a.ip
		if ip == nil || ip.IsLoopback() || ip.IsUnspecified() || ip.IsLinkLocalUnicast() || !ip.IsGlobalUnicast() ||
			(v4only && ip.To4() == nil) {
			continue
		}
		rank := 1
		if ip.To4() != nil {
			rank += 4
		}
		if ip.IsPrivate() {
			rank += 2
		}
		if !virtualIface(a.iface) {
			rank += 8
		}
		if rank > bestRank {
			best, bestRank = ip.String(), rank
		}
	}
	switch {
	case best != "":
		return best
	case hostname != "":
		return hostname
	}
	return "127.0.0.1"
}

// reachableHost is pickHost for this machine.
func reachableHost(v4only bool) string {
	h, _ := os.Hostname()
	return pickHost(interfaceAddrs(), h, v4only)
}

// lanIPs lists this machine's addresses another device may use, for the
// self-signed certificate of a server listening on every interface.
func lanIPs() []string {
	var out []string
	for _, a := range interfaceAddrs() {
		if a.ip.IsGlobalUnicast() && !a.ip.IsLinkLocalUnicast() {
			out = append(out, a.ip.String())
		}
	}
	return out
}
