//go:build !(linux || darwin || freebsd || dragonfly || windows)

package record

import (
	"fmt"
	"runtime"
)

// FreeBytes is not known on this system: it returns an error.
func FreeBytes(dir string) (uint64, error) {
	return 0, fmt.Errorf("record: the free space of %s cannot be read on %s", dir, runtime.GOOS)
}
