package video

import (
	"runtime"
	"syscall"
)

// background runs the calling goroutine, from now until it returns, on a
// thread of its own at a lower priority (nice 10): decoding ahead must
// never take the CPU from the window drawing the frame due now, on a
// machine with few cores (two, on many lab PCs). The thread ends with the
// goroutine (it stays locked), so no other goroutine inherits the priority
// (Go parks the process's main thread for good instead, should the
// goroutine have run there). It returns the thread's ID.
func background() int {
	runtime.LockOSThread()
	// On Linux a thread's nice value is its own: PRIO_PROCESS with a
	// thread ID sets that thread's. Failing (a sandbox) leaves it as it is.
	tid := syscall.Gettid()
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, tid, 10)
	return tid
}
