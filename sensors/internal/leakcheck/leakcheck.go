// Package leakcheck fails a test binary whose goroutines of the sensors
// packages outlive its tests (a simulator, reader or bridge that was not
// stopped). Each package calls it from TestMain:
//
//	func TestMain(m *testing.M) { leakcheck.Main(m) }
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Wait is how long stopped goroutines get to finish before they count as leaked.
const Wait = 5 * time.Second

// Main runs the tests and exits; a passing run fails if goroutines are left.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := Leftover(Wait); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines still running after the tests:\n\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// Leftover polls until no goroutine runs code of the sensors packages, or
// the deadline passes and returns their stacks. The caller's own goroutine
// is skipped by its TestMain frame.
func Leftover(within time.Duration) string {
	deadline := time.Now().Add(within)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var bad []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "cueroom/sensors/") && !strings.Contains(g, "TestMain") {
				bad = append(bad, g)
			}
		}
		if len(bad) == 0 {
			return ""
		}
		if time.Now().After(deadline) {
			return strings.Join(bad, "\n\n")
		}
		<-time.After(10 * time.Millisecond)
	}
}
