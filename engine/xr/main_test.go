package xr

import (
	"testing"

	"github.com/cueroom/cueroom/internal/leakcheck"
)

// TestMain fails the run when a test leaves goroutines behind (the test
// feed's readers, the HTTP server).
func TestMain(m *testing.M) { leakcheck.Main(m) }
