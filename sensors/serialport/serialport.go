// Package serialport opens a serial port by path with go.bug.st/serial and
// wraps it for a decoder: Read blocks until bytes arrive, fails after a
// configurable silence (a data watchdog), honours a read deadline, and is
// interrupted by Close.
//
// go.bug.st/serial configures the line (mode, raw, exclusive access,
// DTR/RTS) and writes, but Read does not go through it: its Read waits in a
// blocking select(2), which holds an OS thread for the wait and, at a few
// hundred reads a second (a BITalino at 1000 Hz), costs thread hand-offs
// and wakes of the runtime's monitor thread on every read. Read goes
// through a second, non-blocking descriptor of the same tty on Go's poller
// instead (reader.go): the goroutine parks until data, a deadline or Close,
// holding no thread. See BenchmarkBridgeCPU in sensors/bridge.
//
// A Port is read by one goroutine at a time; Write, SetReadDeadline and
// Close may be called from others.
package serialport

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.bug.st/serial"
	"golang.org/x/sys/unix"
)

// Errors a caller can branch on (reconnect logic, messages to the therapist).
var (
	ErrNotFound   = errors.New("no such port")
	ErrBusy       = errors.New("port busy")
	ErrPermission = errors.New("permission denied")
	ErrNotSerial  = errors.New("not a serial port")
	ErrSilent     = errors.New("no data") // the watchdog fired
	ErrGone       = errors.New("device went away")
)

// Options configure Open. The zero value is 115200 8N1 and a 5 s watchdog.
type Options struct {
	// Mode is the line setting; zero BaudRate and DataBits mean 115200 and 8.
	Mode serial.Mode
	// Silence is the watchdog: Read fails with ErrSilent when no byte came
	// for this long. Default 5 s; negative disables it.
	Silence time.Duration
}

// Port is an open serial port. It implements io.ReadWriteCloser.
type Port struct {
	name string
	port serial.Port // line setting, modem lines, writes
	// in is the descriptor Read uses (non-blocking, on Go's poller); it
	// also holds the flock that marks the port as ours.
	in      *os.File
	silence time.Duration

	deadline atomic.Int64 // unix nanoseconds, 0 = none
	// kicks counts SetReadDeadline calls, so a Read arming its wait can
	// tell that a new deadline came in meanwhile (see Read).
	kicks    atomic.Uint64
	rd       *reader // reads in
	closed   atomic.Bool
	once     sync.Once
	closeErr error
}

// Open opens the serial port at path. It takes an advisory lock (flock) on
// the device besides the kernel's exclusive mode, because root bypasses the
// latter: a second Open of the same port fails with ErrBusy either way.
// Errors name the port and say what to do.
func Open(path string, opt Options) (*Port, error) {
	mode := opt.Mode
	if mode.BaudRate == 0 {
		mode.BaudRate = 115200
	}
	if mode.DataBits == 0 {
		mode.DataBits = 8
	}
	// InitialStatusBits would make Open itself fail on a pty (no modem
	// lines): DTR/RTS are set afterwards instead, ignoring that failure.
	modemBits := mode.InitialStatusBits
	mode.InitialStatusBits = nil
	if opt.Silence == 0 {
		opt.Silence = 5 * time.Second
	}

	lock, err := lockPort(path)
	if err != nil {
		return nil, err
	}
	sp, err := serial.Open(path, &mode)
	if err != nil {
		_ = lock.Close()
		return nil, openError(path, err)
	}
	if modemBits != nil {
		if err := setModemBits(sp, modemBits); err != nil {
			_ = sp.Close()
			_ = lock.Close()
			return nil, fmt.Errorf("serialport: %s: setting DTR/RTS: %w", path, err)
		}
	}
	rd, err := newReader(lock)
	if err != nil {
		_ = sp.Close()
		_ = lock.Close()
		return nil, fmt.Errorf("serialport: %s cannot be polled for input (%v): is it a serial port? %w", path, err, ErrNotSerial)
	}
	return &Port{name: path, port: sp, in: lock, rd: rd, silence: opt.Silence}, nil
}

// lockPort opens path (non-blocking, so a modem line cannot stall it, and
// so that os.NewFile puts it on Go's poller) and takes an exclusive flock
// on it.
func lockPort(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, openError(path, &fs.PathError{Op: "open", Path: path, Err: err})
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = unix.Close(fd)
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, busy(path)
		}
		return nil, fmt.Errorf("serialport: locking %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

func busy(path string) error {
	return fmt.Errorf("serialport: %s is busy: another program has %s open (another cueroom, a serial monitor, "+
		"ModemManager?); close it and retry: %w", path, path, ErrBusy)
}

// openError turns an open failure into an error naming the port and the fix.
func openError(path string, err error) error {
	var pe *serial.PortError
	if errors.As(err, &pe) {
		switch pe.Code() {
		case serial.PortBusy:
			return busy(path)
		case serial.PortNotFound:
			err = syscall.ENOENT
		case serial.PermissionDenied:
			err = syscall.EACCES
		case serial.InvalidSerialPort:
			return fmt.Errorf("serialport: %s is not a serial port (%v): check the path: %w", path, pe, ErrNotSerial)
		default:
			return fmt.Errorf("serialport: opening %s: %w", path, err)
		}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("serialport: %s: no such port — is the device plugged in (USB) or bound "+
			"(Bluetooth: rfcomm bind)? %w", path, ErrNotFound)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("serialport: %s: permission denied — add your user to the dialout group "+
			"(sudo usermod -aG dialout $USER) and log in again: %w", path, ErrPermission)
	case errors.Is(err, syscall.EBUSY):
		return busy(path)
	case errors.Is(err, syscall.ENOTTY), errors.Is(err, syscall.ENXIO):
		return fmt.Errorf("serialport: %s is not a serial port: check the path: %w", path, ErrNotSerial)
	}
	return fmt.Errorf("serialport: opening %s: %w", path, err)
}

// setModemBits sets DTR and RTS, ignoring the "inappropriate ioctl" a
// pseudo-terminal answers (it has no modem lines).
func setModemBits(p serial.Port, b *serial.ModemOutputBits) error {
	ignore := func(err error) error {
		if errors.Is(err, syscall.ENOTTY) || errors.Is(err, syscall.EINVAL) {
			return nil
		}
		return err
	}
	return errors.Join(ignore(p.SetDTR(b.DTR)), ignore(p.SetRTS(b.RTS)))
}

// Name returns the port's path.
func (p *Port) Name() string { return p.name }

// silenceGrace is the last look Read takes for bytes already waiting once
// the watchdog's silence has passed.
const silenceGrace = 20 * time.Millisecond

// Read reads at least one byte, or fails: with ErrSilent after the
// watchdog's silence, os.ErrDeadlineExceeded after the read deadline,
// os.ErrClosed after Close, ErrGone when the device disappears.
func (p *Port) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	var silentAt time.Time
	graced := false
	if p.silence > 0 {
		silentAt = time.Now().Add(p.silence)
	}
	for {
		if p.closed.Load() {
			return 0, p.closedErr()
		}
		// Load the kick count before the deadline: SetReadDeadline stores
		// the deadline before it counts, so a count unchanged after arming
		// means any later SetReadDeadline will interrupt this wait.
		kicks := p.kicks.Load()
		wake := silentAt
		now := time.Now()
		if dl := p.deadline.Load(); dl != 0 {
			t := time.Unix(0, dl)
			if !now.Before(t) {
				return 0, fmt.Errorf("serialport: %s: read deadline passed: %w", p.name, os.ErrDeadlineExceeded)
			}
			if wake.IsZero() || t.Before(wake) {
				wake = t
			}
		}
		if !silentAt.IsZero() && !now.Before(silentAt) && !graced {
			// One more short look before crying silence: when our own
			// process was stopped or starved (SIGSTOP, a loaded
			// machine), the deadline passes while the device's bytes
			// wait in the kernel's buffer.
			graced = true
			silentAt = now.Add(silenceGrace)
			continue
		}
		if !silentAt.IsZero() && !now.Before(silentAt) {
			return 0, fmt.Errorf("serialport: no data from %s for %v: the device stopped sending — check that it "+
				"is switched on, charged and in range, then reconnect: %w", p.name, p.silence, ErrSilent)
		}
		if err := p.in.SetReadDeadline(wake); err != nil {
			return 0, p.readErr(err)
		}
		if p.kicks.Load() != kicks {
			continue // a new deadline arrived while arming: arm again
		}
		n, err := p.rd.read(b)
		if n > 0 {
			return n, nil // a following Read reports any error
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue // the watchdog, the deadline or a kick: the top of the loop says which
		}
		return 0, p.readErr(err)
	}
}

// readErr says why a read failed: Close, or the device going away (a USB
// adapter unplugged reads as end of file after the hang-up, a vanished pty
// as EIO).
func (p *Port) readErr(err error) error {
	if p.closed.Load() || errors.Is(err, os.ErrClosed) {
		return p.closedErr()
	}
	if errors.Is(err, io.EOF) {
		err = errors.New("hang-up")
	}
	return fmt.Errorf("serialport: %s: %v: the device went away (unplugged, switched off or out of "+
		"range): %w", p.name, err, ErrGone)
}

func (p *Port) closedErr() error {
	return fmt.Errorf("serialport: %s: %w", p.name, os.ErrClosed)
}

// Write writes b to the port.
func (p *Port) Write(b []byte) (int, error) {
	if p.closed.Load() {
		return 0, p.closedErr()
	}
	n, err := p.port.Write(b)
	if err != nil {
		if p.closed.Load() {
			return n, p.closedErr()
		}
		return n, fmt.Errorf("serialport: writing to %s: %v: %w", p.name, err, ErrGone)
	}
	return n, nil
}

// SetReadDeadline makes Read fail with os.ErrDeadlineExceeded once t has
// passed with no data (zero t: no deadline). A blocked Read takes the new
// deadline at once.
func (p *Port) SetReadDeadline(t time.Time) error {
	if t.IsZero() {
		p.deadline.Store(0)
	} else {
		p.deadline.Store(t.UnixNano())
	}
	p.kicks.Add(1)
	// Wake a blocked Read so it re-arms with the new deadline; the
	// descriptor's own deadline is Read's to set.
	if err := p.in.SetReadDeadline(time.Now()); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}

// ResetInputBuffer discards bytes received but not yet read.
func (p *Port) ResetInputBuffer() error { return p.port.ResetInputBuffer() }

// Close closes the port, interrupting a blocked Read, and releases the lock.
func (p *Port) Close() error {
	p.once.Do(func() {
		p.closed.Store(true)
		err := p.port.Close()
		p.closeErr = errors.Join(err, p.in.Close())
	})
	return p.closeErr
}
