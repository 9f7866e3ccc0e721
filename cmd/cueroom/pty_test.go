package main

import (
	"testing"

	"github.com/creack/pty"
)

// ptyPair opens a pseudo-terminal whose far end says nothing, like a port
// with the wrong device (or none) behind it, and returns the path to open.
func ptyPair(t *testing.T) (string, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return "", err
	}
	t.Cleanup(func() { master.Close(); slave.Close() })
	return slave.Name(), nil
}
