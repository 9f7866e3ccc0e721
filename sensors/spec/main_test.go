package spec

import (
	"testing"

	"github.com/cueroom/cueroom/internal/leakcheck"
)

// TestMain fails the run if goroutines of the sensors packages outlive the
// tests (a simulator, reader or bridge that was not stopped).
func TestMain(m *testing.M) { leakcheck.Main(m) }
