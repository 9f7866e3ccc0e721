//go:build !linux

package video

import "runtime"

// background keeps the decoder on a thread of its own; lowering its
// priority is done on Linux only (see nice_linux.go).
func background() int { runtime.LockOSThread(); return 0 }
