//go:build linux || darwin || freebsd || dragonfly

package record

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// FreeBytes is the space on the file system that holds dir that this user
// may still write (statfs: the blocks available to unprivileged users, not
// those reserved for root).
func FreeBytes(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("record: free space of %s: %w", dir, err)
	}
	if st.Bavail <= 0 || st.Bsize <= 0 { // FreeBSD's can be negative past the reserve
		return 0, nil
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
