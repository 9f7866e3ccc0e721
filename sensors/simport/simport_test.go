package simport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readN(t *testing.T, f *os.File, n int) []byte {
	t.Helper()
	require.NoError(t, f.SetReadDeadline(time.Now().Add(3*time.Second)))
	buf := make([]byte, n)
	_, err := io.ReadFull(f, buf)
	require.NoError(t, err)
	return buf
}

// Every byte value goes through unchanged in both directions, with no echo:
// the slave is raw.
func TestRawBothWays(t *testing.T) {
	p, err := Open()
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	assert.True(t, strings.HasPrefix(p.Path, "/dev/pts/"), p.Path)

	client, err := os.OpenFile(p.Path, os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { client.Close() })

	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i) // includes \r \n ^C ^S ^Q ^D DEL
	}
	_, err = p.Master().Write(all)
	require.NoError(t, err)
	assert.Equal(t, all, readN(t, client, 256), "master → slave")

	_, err = client.Write(all)
	require.NoError(t, err)
	assert.Equal(t, all, readN(t, p.Master(), 256), "slave → master, and no echo of the first write")
}

func TestServeAndClose(t *testing.T) {
	started := make(chan struct{})
	echo := Func(func(ctx context.Context, rw io.ReadWriter) error {
		close(started)
		buf := make([]byte, 64)
		for {
			n, err := rw.Read(buf)
			if err != nil {
				return err // interrupted by Close: Serve reports nil
			}
			if _, err := rw.Write(bytes.ToUpper(buf[:n])); err != nil {
				return err
			}
		}
	})
	p, err := Start(context.Background(), echo)
	require.NoError(t, err)
	<-started
	require.Error(t, p.Serve(context.Background(), echo), "one simulator per pty")

	client, err := os.OpenFile(p.Path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer client.Close()
	_, err = client.Write([]byte("bitalino"))
	require.NoError(t, err)
	assert.Equal(t, []byte("BITALINO"), readN(t, client, 8))

	done := make(chan error, 1)
	go func() { done <- p.Close() }()
	select {
	case err := <-done:
		require.NoError(t, err, "a simulator interrupted by Close is not an error")
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not stop a simulator blocked in Read")
	}
	<-p.Done()
	require.NoError(t, p.Close(), "Close twice is fine")
	require.Error(t, p.Serve(context.Background(), echo))
	// the client now sees the hang-up
	require.NoError(t, client.SetReadDeadline(time.Now().Add(3*time.Second)))
	_, err = client.Read(make([]byte, 1))
	require.Error(t, err)
	assert.False(t, errors.Is(err, os.ErrDeadlineExceeded), "hang-up, not a timeout: %v", err)
}

// A simulator blocked writing (nobody reads the slave) is interrupted too,
// and its own error is reported.
func TestCloseInterruptsWrite(t *testing.T) {
	writing := make(chan struct{})
	flood := Func(func(ctx context.Context, rw io.ReadWriter) error {
		close(writing)
		chunk := make([]byte, 4096)
		for {
			if _, err := rw.Write(chunk); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	})
	p, err := Start(context.Background(), flood)
	require.NoError(t, err)
	<-writing
	done := make(chan error, 1)
	go func() { done <- p.Close() }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not stop a simulator blocked in Write")
	}
}

func TestSimulatorErrorIsReported(t *testing.T) {
	boom := errors.New("boom")
	p, err := Start(context.Background(), Func(func(context.Context, io.ReadWriter) error { return boom }))
	require.NoError(t, err)
	<-p.Done()
	require.ErrorIs(t, p.Err(), boom)
	require.ErrorIs(t, p.Close(), boom)
}

func TestContextStopsSimulator(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p, err := Start(ctx, Func(func(ctx context.Context, _ io.ReadWriter) error {
		<-ctx.Done()
		return ctx.Err()
	}))
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	cancel()
	select {
	case <-p.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("cancel did not stop the simulator")
	}
	require.ErrorIs(t, p.Err(), context.Canceled, "the simulator's own result is kept")
}
