package serialport

import (
	"io"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// reader reads a non-blocking descriptor through Go's poller: the goroutine
// parks until the descriptor is readable, its deadline passes or it is
// closed, then reads what is there.
//
// The read itself is a raw system call. A non-blocking read cannot block,
// so it needs none of what the runtime does around a call that might (for
// every one, it wakes its monitor thread, sysmon, in case the call blocks
// and the processor must be handed to another thread): with a read per
// burst from a 1000 Hz BITalino, that wake-up alone cost about as much as
// all the bridge's decoding (BenchmarkBridgeCPU in sensors/bridge).
type reader struct {
	rc syscall.RawConn
	// try is r.try bound once: a method value made per read would allocate.
	try func(fd uintptr) bool
	// The read in progress, for try: one goroutine reads at a time.
	b   []byte
	n   int
	err error
}

// newReader checks that f is on the poller (deadlines work) and returns
// its reader.
func newReader(f *os.File) (*reader, error) {
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		return nil, err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &reader{rc: rc}
	r.try = r.tryRead
	return r, nil
}

// read reads into b (len(b) > 0), waiting for data. It returns the
// poller's error on a deadline (os.ErrDeadlineExceeded) or Close, io.EOF
// at a hang-up (a tty reads 0 bytes once its device is gone), and the
// read's own error otherwise.
func (r *reader) read(b []byte) (int, error) {
	r.b, r.n, r.err = b, 0, nil
	err := r.rc.Read(r.try)
	n, rerr := r.n, r.err
	r.b, r.err = nil, nil
	switch {
	case err != nil:
		return 0, err
	case rerr != nil:
		return 0, rerr
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// tryRead is one read attempt; false asks the poller to wait for data.
func (r *reader) tryRead(fd uintptr) bool {
	for {
		n, _, errno := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&r.b[0])), uintptr(len(r.b)))
		switch errno {
		case 0:
			r.n = int(n)
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			r.err = errno
		}
		return true
	}
}
