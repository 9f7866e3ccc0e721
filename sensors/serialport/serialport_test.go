package serialport

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cueroom/cueroom/sensors/simport"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.bug.st/serial"
)

func newPty(t *testing.T) *simport.Pty {
	t.Helper()
	p, err := simport.Open()
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

func open(t *testing.T, path string, opt Options) *Port {
	t.Helper()
	port, err := Open(path, opt)
	require.NoError(t, err)
	t.Cleanup(func() { port.Close() })
	return port
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	require.NoError(t, os.WriteFile(plain, []byte("x"), 0o600))
	tests := []struct {
		name string
		path string
		is   error
		want []string
	}{
		{"missing", "/dev/ttyNOPE9", ErrNotFound, []string{"/dev/ttyNOPE9", "no such port — is the device plugged in"}},
		{"missing in a folder", filepath.Join(dir, "ttyX"), ErrNotFound, []string{"ttyX", "no such port"}},
		{"a plain file", plain, ErrNotSerial, []string{plain, "is not a serial port"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.path, Options{})
			require.ErrorIs(t, err, tc.is)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// Errors the tests cannot provoke as root map to the same clear messages.
func TestOpenErrorMapping(t *testing.T) {
	tests := []struct {
		errno syscall.Errno
		is    error
		want  string
	}{
		{syscall.EACCES, ErrPermission, "add your user to the dialout group"},
		{syscall.EBUSY, ErrBusy, "another program has /dev/ttyUSB0 open"},
		{syscall.ENOENT, ErrNotFound, "is the device plugged in"},
		{syscall.ENXIO, ErrNotSerial, "is not a serial port"},
	}
	for _, tc := range tests {
		t.Run(tc.errno.Error(), func(t *testing.T) {
			err := openError("/dev/ttyUSB0", &fs.PathError{Op: "open", Path: "/dev/ttyUSB0", Err: tc.errno})
			require.ErrorIs(t, err, tc.is)
			assert.Contains(t, err.Error(), "/dev/ttyUSB0")
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestBusy(t *testing.T) {
	p := newPty(t)
	first := open(t, p.Path, Options{})
	_, err := Open(p.Path, Options{})
	require.ErrorIs(t, err, ErrBusy)
	assert.Contains(t, err.Error(), "another program has "+p.Path+" open")

	require.NoError(t, first.Close())
	again, err := Open(p.Path, Options{})
	require.NoError(t, err, "free again after Close")
	require.NoError(t, again.Close())
}

func TestReadWrite(t *testing.T) {
	p := newPty(t)
	port := open(t, p.Path, Options{Mode: serial.Mode{BaudRate: 115200,
		InitialStatusBits: &serial.ModemOutputBits{DTR: true, RTS: true}}}) // a pty has no modem lines: ignored
	assert.Equal(t, p.Path, port.Name())

	_, err := port.Write([]byte{0x07, 0x0A, 0x0D, 0x00})
	require.NoError(t, err)
	got := make([]byte, 4)
	require.NoError(t, p.Master().SetReadDeadline(time.Now().Add(3*time.Second)))
	_, err = io.ReadFull(p.Master(), got)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x07, 0x0A, 0x0D, 0x00}, got)

	// Bytes that arrive after a few idle polls are still delivered: the
	// library's (0, nil) timeouts never reach the caller.
	// A slow device: the reply comes after several polls.
	late := time.AfterFunc(120*time.Millisecond, func() { _, _ = p.Master().Write([]byte("BITalino\n")) })
	t.Cleanup(func() { late.Stop() })
	all := make([]byte, 9)
	_, err = io.ReadFull(port, all)
	require.NoError(t, err)
	assert.Equal(t, "BITalino\n", string(all))

	n, err := port.Read(nil)
	assert.Zero(t, n)
	assert.NoError(t, err)
}

func TestWatchdog(t *testing.T) {
	p := newPty(t)
	port := open(t, p.Path, Options{Silence: 150 * time.Millisecond})
	start := time.Now()
	n, err := port.Read(make([]byte, 8))
	el := time.Since(start)
	assert.Zero(t, n)
	require.ErrorIs(t, err, ErrSilent)
	assert.Contains(t, err.Error(), "no data from "+p.Path+" for 150ms")
	assert.GreaterOrEqual(t, el, 150*time.Millisecond)
	assert.Less(t, el, 2*time.Second)
}

func TestDeadline(t *testing.T) {
	p := newPty(t)
	port := open(t, p.Path, Options{Silence: -1})
	require.NoError(t, port.SetReadDeadline(time.Now().Add(100*time.Millisecond)))
	start := time.Now()
	_, err := port.Read(make([]byte, 8))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.GreaterOrEqual(t, time.Since(start), 90*time.Millisecond)
	assert.Less(t, time.Since(start), 2*time.Second)

	// cleared: data is read again
	require.NoError(t, port.SetReadDeadline(time.Time{}))
	_, err = p.Master().Write([]byte{1})
	require.NoError(t, err)
	n, err := port.Read(make([]byte, 8))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

func TestCloseInterruptsRead(t *testing.T) {
	p := newPty(t)
	port, err := Open(p.Path, Options{Silence: -1})
	require.NoError(t, err)
	reading := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		close(reading)
		_, err := port.Read(make([]byte, 8))
		done <- err
	}()
	<-reading
	require.NoError(t, port.Close())
	select {
	case err := <-done:
		require.ErrorIs(t, err, os.ErrClosed)
	case <-time.After(3 * time.Second):
		t.Fatal("Read not interrupted by Close")
	}
	_, err = port.Write([]byte{0})
	require.ErrorIs(t, err, os.ErrClosed)
	require.NoError(t, port.Close(), "Close twice is fine")
}

// The device vanishing (the pty master closing) ends a blocked Read with
// ErrGone quickly, whatever the watchdog says.
func TestDeviceGone(t *testing.T) {
	p, err := simport.Open()
	require.NoError(t, err)
	port := open(t, p.Path, Options{Silence: time.Minute})
	done := make(chan error, 1)
	go func() {
		_, err := port.Read(make([]byte, 8))
		done <- err
	}()
	require.NoError(t, p.Close())
	select {
	case err := <-done:
		require.ErrorIs(t, err, ErrGone)
		assert.Contains(t, err.Error(), p.Path)
		assert.False(t, errors.Is(err, ErrSilent))
	case <-time.After(3 * time.Second):
		t.Fatal("Read did not notice the device going away")
	}
}

// A deadline set while a Read is blocked (another goroutine, no watchdog)
// ends that Read at the deadline, not at some later poll; clearing it lets
// the Read go on to the data.
func TestDeadlineWhileBlocked(t *testing.T) {
	tests := []struct {
		name     string
		deadline time.Duration // 0: set, then clear
		want     error
	}{
		{"shortened", 150 * time.Millisecond, os.ErrDeadlineExceeded},
		{"cleared", 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPty(t)
			port := open(t, p.Path, Options{Silence: -1})
			type result struct {
				n   int
				err error
				at  time.Duration
			}
			done := make(chan result, 1)
			start := time.Now()
			go func() {
				n, err := port.Read(make([]byte, 8))
				done <- result{n, err, time.Since(start)}
			}()
			require.Eventually(t, readParked, 5*time.Second, time.Millisecond, "Read waiting for data")
			if tc.deadline > 0 {
				require.NoError(t, port.SetReadDeadline(start.Add(tc.deadline)))
			} else {
				require.NoError(t, port.SetReadDeadline(time.Now().Add(time.Hour)))
				require.NoError(t, port.SetReadDeadline(time.Time{}))
				_, err := p.Master().Write([]byte{0x42})
				require.NoError(t, err)
			}
			select {
			case r := <-done:
				if tc.want != nil {
					require.ErrorIs(t, r.err, tc.want)
					assert.GreaterOrEqual(t, r.at, tc.deadline)
					assert.Less(t, r.at, tc.deadline+time.Second)
					return
				}
				require.NoError(t, r.err)
				assert.Equal(t, 1, r.n)
			case <-time.After(5 * time.Second):
				t.Fatal("Read still blocked")
			}
		})
	}
}

// readParked reports whether a goroutine is in Read, parked on the poller.
func readParked() bool {
	buf := make([]byte, 1<<20)
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "serialport.(*reader).read") && strings.Contains(g, "runtime_pollWait") {
			return true
		}
	}
	return false
}

// Reading what has arrived allocates nothing: the bridge reads a few
// hundred times a second for as long as a session lasts.
func TestReadAllocs(t *testing.T) {
	p := newPty(t)
	port := open(t, p.Path, Options{})
	const runs = 50
	_, err := p.Master().Write(make([]byte, 4*(runs+1)))
	require.NoError(t, err)
	buf := make([]byte, 4)
	var got int
	allocs := testing.AllocsPerRun(runs, func() {
		n, err := port.Read(buf)
		if err != nil {
			t.Error(err)
		}
		got += n
	})
	assert.Zero(t, allocs)
	assert.Positive(t, got)
}

// The reader under Read, on a pipe: data, the writer gone (a tty reads end
// of file after a hang-up), a deadline, Close.
func TestReader(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, r, w *os.File)
		n     int
		want  string // in the error; "" none
		is    error
	}{
		{name: "data", n: 3, setup: func(t *testing.T, r, w *os.File) {
			_, err := w.Write([]byte("abc"))
			require.NoError(t, err)
		}},
		{name: "hang-up", is: io.EOF, want: "EOF", setup: func(t *testing.T, r, w *os.File) { require.NoError(t, w.Close()) }},
		{name: "deadline", is: os.ErrDeadlineExceeded, want: "timeout", setup: func(t *testing.T, r, w *os.File) {
			require.NoError(t, r.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
		}},
		{name: "closed", want: "closed file", setup: func(t *testing.T, r, w *os.File) { require.NoError(t, r.Close()) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			require.NoError(t, err)
			t.Cleanup(func() { r.Close(); w.Close() })
			rd, err := newReader(r)
			require.NoError(t, err)
			tc.setup(t, r, w)
			n, err := rd.read(make([]byte, 8))
			assert.Equal(t, tc.n, n)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
		})
	}
}

// A hang-up read as end of file is the device going away, not a Close.
func TestReadErr(t *testing.T) {
	p := newPty(t)
	port := open(t, p.Path, Options{})
	err := port.readErr(io.EOF)
	require.ErrorIs(t, err, ErrGone)
	assert.Contains(t, err.Error(), p.Path+": hang-up")
	require.NoError(t, port.Close())
	require.ErrorIs(t, port.readErr(io.EOF), os.ErrClosed, "after Close, whatever the read said")
}
