// Package portio holds the small port helpers every device's Start and
// decoder share: the port's name for messages, its read deadline when it
// has one, and the bound on how much a start-up scan reads.
package portio

import "time"

// ReadDeadliner is a port whose reads can time out (serialport.Port,
// *os.File of a pty, net.Conn).
type ReadDeadliner interface{ SetReadDeadline(time.Time) error }

type namer interface{ Name() string }

// Name is the port's name for messages, or "the port".
func Name(x any) string {
	if n, ok := x.(namer); ok && n.Name() != "" {
		return n.Name()
	}
	return "the port"
}

// MaxScan bounds how many bytes a start-up scan reads looking for a valid
// frame or reply, so a port spewing garbage fails in bounded time even if
// its reads cannot time out.
const MaxScan = 64 << 10

// Deadline sets x's read deadline to t when x has one, and returns what
// clears it again (nothing otherwise): defer Deadline(rw, t)().
func Deadline(x any, t time.Time) (clear func()) {
	if dl, ok := x.(ReadDeadliner); ok && dl.SetReadDeadline(t) == nil {
		return func() { dl.SetReadDeadline(time.Time{}) }
	}
	return func() {}
}
