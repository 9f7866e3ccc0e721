package lsl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Config says where LSL traffic goes. The zero value is liblsl's default
// configuration (lsl_api.cfg with nothing set, resolve scope "site").
type Config struct {
	// Interfaces are the network interfaces (by name) that discovery
	// joins its multicast groups on and sends queries from; nil means
	// every interface that is up and multicast capable.
	Interfaces []string
	// Groups are the IPv4 addresses queries go to and outlets listen on;
	// nil means liblsl's: 127.0.0.1 (machine), 255.255.255.255,
	// 224.0.0.1, 224.0.0.183 (link) and 239.255.172.215 (site).
	Groups []netip.Addr
	// MulticastPort is the UDP port of discovery (16571).
	MulticastPort int
	// BasePort and PortRange: outlets take their TCP data port and UDP
	// service port from BasePort up (16572, 32 ports), else any free one.
	BasePort, PortRange int
	// TTL of multicast queries (24: liblsl's site scope).
	TTL int
	// SessionID is the lab's session; only streams of the same one are
	// found ("default").
	SessionID string
	// NoDiscovery makes an outlet serve only its TCP and UDP service
	// ports, on Listen: no multicast group is joined, nothing listens on
	// MulticastPort. Its streams are then reached by address only.
	NoDiscovery bool
	// Listen is the address an outlet's ports bind to (all addresses when
	// unset).
	Listen netip.Addr
}

// DefaultGroups are liblsl 1.16's IPv4 discovery addresses for the "site"
// scope.
var DefaultGroups = []netip.Addr{
	netip.MustParseAddr("127.0.0.1"),
	netip.MustParseAddr("255.255.255.255"),
	netip.MustParseAddr("224.0.0.1"),
	netip.MustParseAddr("224.0.0.183"),
	netip.MustParseAddr("239.255.172.215"),
}

func (c Config) withDefaults() Config {
	if c.Groups == nil {
		c.Groups = DefaultGroups
	}
	if c.MulticastPort == 0 {
		c.MulticastPort = 16571
	}
	if c.BasePort == 0 {
		c.BasePort = 16572
	}
	if c.PortRange == 0 {
		c.PortRange = 32
	}
	if c.TTL == 0 {
		c.TTL = 24
	}
	if c.SessionID == "" {
		c.SessionID = "default"
	}
	if !c.Listen.IsValid() {
		c.Listen = netip.IPv4Unspecified()
	}
	return c
}

// ErrNotIsolated is returned when a test would use LSL discovery on a
// machine's real network: tests must run it in a private network
// namespace that has only a loopback interface (see lsl/lsltest).
var ErrNotIsolated = errors.New("lsl: refusing LSL discovery in a test outside a private network namespace (only loopback may exist; see lsl/lsltest)")

// Isolated says whether this process sees only loopback interfaces, as in
// a private network namespace (unshare -n).
func Isolated() bool {
	ifs, err := net.Interfaces()
	if err != nil || len(ifs) == 0 {
		return false
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 {
			return false
		}
	}
	return true
}

// guardDiscovery keeps tests off the real network: discovery sends and
// joins multicast (IGMP reports are packets too) on every interface.
func guardDiscovery() error {
	if testing.Testing() && !Isolated() {
		return ErrNotIsolated
	}
	return nil
}

// interfaces resolves the configured interfaces to those usable for
// multicast.
func (c Config) interfaces() ([]net.Interface, error) {
	all, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []net.Interface
	if c.Interfaces == nil {
		for _, i := range all {
			if i.Flags&net.FlagUp != 0 && i.Flags&net.FlagMulticast != 0 {
				out = append(out, i)
			}
		}
	} else {
		for _, name := range c.Interfaces {
			i, err := net.InterfaceByName(name)
			if err != nil {
				return nil, fmt.Errorf("lsl: interface %s: %w", name, err)
			}
			out = append(out, *i)
		}
	}
	// None (an offline machine whose loopback does no multicast): discovery
	// still works on this machine by 127.0.0.1 and broadcast, as liblsl's
	// fallback to the default interface does.
	return out, nil
}

// reuseAddr lets several outlets (ours and liblsl's) share the discovery
// port, as liblsl sets reuse_address on its responders.
func reuseAddr(_, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// listenUDPInRange binds a UDP socket to the first free port of the range
// (then any port), as liblsl's bind_port_in_range.
func (c Config) listenUDPInRange(ctx context.Context) (*net.UDPConn, error) {
	var lc net.ListenConfig
	for p := c.BasePort; p < c.BasePort+c.PortRange; p++ {
		pc, err := lc.ListenPacket(ctx, "udp4", net.JoinHostPort(c.Listen.String(), strconv.Itoa(p)))
		if err == nil {
			return pc.(*net.UDPConn), nil
		}
	}
	pc, err := lc.ListenPacket(ctx, "udp4", net.JoinHostPort(c.Listen.String(), "0"))
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

func (c Config) listenTCPInRange(ctx context.Context) (*net.TCPListener, error) {
	var lc net.ListenConfig
	for p := c.BasePort; p < c.BasePort+c.PortRange; p++ {
		l, err := lc.Listen(ctx, "tcp4", net.JoinHostPort(c.Listen.String(), strconv.Itoa(p)))
		if err == nil {
			return l.(*net.TCPListener), nil
		}
	}
	l, err := lc.Listen(ctx, "tcp4", net.JoinHostPort(c.Listen.String(), "0"))
	if err != nil {
		return nil, err
	}
	return l.(*net.TCPListener), nil
}

// listenDiscovery opens the socket an outlet answers discovery on: the
// multicast port on all addresses (so it also hears broadcast and unicast
// queries), joined to every multicast group on every interface.
func (c Config) listenDiscovery(ctx context.Context) (*net.UDPConn, error) {
	ifs, err := c.interfaces()
	if err != nil {
		return nil, err
	}
	lc := net.ListenConfig{Control: reuseAddr}
	pc, err := lc.ListenPacket(ctx, "udp4", ":"+strconv.Itoa(c.MulticastPort))
	if err != nil {
		return nil, fmt.Errorf("lsl: discovery port: %w", err)
	}
	conn := pc.(*net.UDPConn)
	rc, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, err
	}
	joined := 0
	var lastErr error
	for _, g := range c.Groups {
		if !g.Is4() || !g.IsMulticast() {
			continue
		}
		for _, i := range ifs {
			mreq := &unix.IPMreqn{Multiaddr: g.As4(), Ifindex: int32(i.Index)}
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = unix.SetsockoptIPMreqn(int(fd), unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, mreq)
			}); err != nil {
				serr = err
			}
			if serr != nil {
				lastErr = fmt.Errorf("join %s on %s: %w", g, i.Name, serr)
			} else {
				joined++
			}
		}
	}
	if joined == 0 && lastErr != nil && c.Interfaces != nil {
		conn.Close()
		return nil, fmt.Errorf("lsl: could not join any multicast group: %w", lastErr)
	}
	return conn, nil
}

// setMulticastIf sends the socket's multicast through interface i.
func setMulticastIf(conn *net.UDPConn, i net.Interface, ttl int) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptIPMreqn(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_IF, &unix.IPMreqn{Ifindex: int32(i.Index)})
		if serr == nil {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, ttl)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

func setBroadcast(conn *net.UDPConn) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
