package record

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// FreeBytes is the space on the volume that holds dir that this user may
// still write (GetDiskFreeSpaceEx, quotas included).
func FreeBytes(dir string) (uint64, error) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, fmt.Errorf("record: free space of %s: %w", dir, err)
	}
	var avail, total, free uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &total, &free); err != nil {
		return 0, fmt.Errorf("record: free space of %s: %w", dir, err)
	}
	return avail, nil
}
