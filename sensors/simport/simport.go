// Package simport gives a device simulator a real serial port: a
// pseudo-terminal pair whose master the simulator talks on, and whose slave
// (/dev/pts/N) the code under test opens by path like any tty.
package simport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Simulator runs on the master side until ctx is done.
type Simulator interface {
	Run(ctx context.Context, rw io.ReadWriter) error
}

// Func adapts a function to Simulator.
type Func func(ctx context.Context, rw io.ReadWriter) error

// Run calls f.
func (f Func) Run(ctx context.Context, rw io.ReadWriter) error { return f(ctx, rw) }

// Pty is an open pseudo-terminal pair. Its slave is kept open by Pty too, so
// the master does not see a hang-up while no client has the port open.
type Pty struct {
	Path string // the slave, e.g. /dev/pts/3

	master *os.File
	slave  *os.File

	mu      sync.Mutex
	serving bool
	cancel  context.CancelFunc
	done    chan struct{}
	err     error
	closed  bool
}

// Open creates a pty pair with the slave in raw mode (no echo, no line
// editing, no CR/LF translation, no flow control, 8 bits): a binary
// protocol goes through unchanged.
func Open() (*Pty, error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("simport: opening a pseudo-terminal: %w (is /dev/ptmx available?)", err)
	}
	// creack/pty puts the master in blocking mode (it calls Fd), which makes
	// deadlines and Close unable to interrupt a Read. A non-blocking
	// duplicate goes through Go's poller instead.
	master, err := pollable(m)
	if err != nil {
		_ = m.Close()
		_ = s.Close()
		return nil, err
	}
	if err := makeRaw(s); err != nil {
		_ = master.Close()
		_ = s.Close()
		return nil, fmt.Errorf("simport: putting %s in raw mode: %w", s.Name(), err)
	}
	return &Pty{Path: s.Name(), master: master, slave: s}, nil
}

func pollable(f *os.File) (*os.File, error) {
	defer f.Close()
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		return nil, fmt.Errorf("simport: duplicating the pty master: %w", err)
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("simport: making the pty master non-blocking: %w", err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// makeRaw is cfmakeraw(3) on the slave's termios.
func makeRaw(f *os.File) error {
	sc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	err = sc.Control(func(fd uintptr) {
		t, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
		if err != nil {
			ierr = err
			return
		}
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR |
			unix.ICRNL | unix.IXON | unix.IXOFF | unix.IXANY
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB
		t.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL
		t.Cc[unix.VMIN] = 1
		t.Cc[unix.VTIME] = 0
		ierr = unix.IoctlSetTermios(int(fd), unix.TCSETS, t)
	})
	if err != nil {
		return err
	}
	return ierr
}

// Master is the simulator's end. It supports deadlines.
func (p *Pty) Master() *os.File { return p.master }

// Serve runs sim on the master in a goroutine until Close or ctx is done.
// A Pty serves at most one simulator.
func (p *Pty) Serve(ctx context.Context, sim Simulator) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("simport: %s is closed", p.Path)
	}
	if p.serving {
		return fmt.Errorf("simport: %s already serves a simulator", p.Path)
	}
	ctx, p.cancel = context.WithCancel(ctx)
	p.serving, p.done = true, make(chan struct{})
	go func() {
		defer close(p.done)
		err := sim.Run(ctx, p.master)
		if ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded) {
			err = nil // our Close interrupted it
		}
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
	}()
	return nil
}

// Start opens a pty and serves sim on it: open Path to talk to the simulator.
func Start(ctx context.Context, sim Simulator) (*Pty, error) {
	p, err := Open()
	if err != nil {
		return nil, err
	}
	if err := p.Serve(ctx, sim); err != nil {
		_ = p.Close()
		return nil, err
	}
	return p, nil
}

// Done is closed when the simulator has returned (nil if none was started).
func (p *Pty) Done() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// Err returns the simulator's error once it has returned.
func (p *Pty) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Close stops the simulator (cancelling its context and interrupting any
// blocked read or write on the master), waits for it, then closes both
// ends. It returns the simulator's error, if it failed.
func (p *Pty) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	cancel, done := p.cancel, p.done
	p.mu.Unlock()
	if cancel != nil {
		cancel()
		_ = p.master.SetDeadline(time.Now())
		<-done
	}
	errM := p.master.Close()
	errS := p.slave.Close()
	return errors.Join(p.Err(), errM, errS)
}
