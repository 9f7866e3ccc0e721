package serialport

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
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
	port := open(t, p.Path, Options{Poll: 10 * time.Millisecond, Silence: 150 * time.Millisecond})
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
	port, err := Open(p.Path, Options{Silence: -1, Poll: time.Second})
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
