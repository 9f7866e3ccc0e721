// Package leakcheck fails tests that leave goroutines running: a decoder,
// reader, simulator or server that was not stopped.
//
// A goroutine that has been told to stop, or whose Close has returned,
// may still be on its way out: after a deferred wg.Done or close(done) it
// still has to return, and on a busy machine it may wait a while to be
// scheduled for that. So every check here polls the goroutine stacks until
// they are clean or Wait has passed; it never judges a single sample.
//
// Per test, registered first so that it runs after the test's other
// cleanups (those that close what the test opened):
//
//	leakcheck.Check(t) // goroutines started during the test
//	leakcheck.CheckFunc(t, "example.com/pkg.(*Player).run") // goroutines running that code
//
// Per test binary:
//
//	func TestMain(m *testing.M) { leakcheck.Main(m) }
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Wait is how long goroutines get to end before they count as leaked.
const Wait = 10 * time.Second

// Check snapshots the goroutines running now and registers a t.Cleanup
// that waits, up to Wait, until every goroutine started since has ended;
// otherwise it fails t with their stacks. Goroutines of the runtime and the
// testing package are ignored.
//
// Call it at the start of the test, before registering cleanups that stop
// what the test started: cleanups run last-registered first. It cannot tell
// whose a goroutine is, so it is not for a test that runs in parallel with
// others (t.Parallel); use CheckFunc there.
func Check(t testing.TB) {
	t.Helper()
	check(t, Wait)
}

func check(t testing.TB, within time.Duration) {
	t.Helper()
	before := ids()
	t.Cleanup(func() {
		t.Helper() // report the line that called Check
		if leaked := leftover(within, startedSince(before)); leaked != "" {
			t.Errorf("goroutines started by the test still running %v after it ended:\n\n%s", within, leaked)
		}
	})
}

// CheckFunc registers a t.Cleanup that waits, up to Wait, until no goroutine
// runs a function whose name starts with one of prefixes, or was created by
// one (names as in a stack trace, such as
// "github.com/cueroom/cueroom/engine/video.(*Video).run" or a package path
// "github.com/cueroom/cueroom/sensors/"); otherwise it fails t with their
// stacks. Unlike Check it also sees such goroutines that were running
// before the test started. Call it at the start of the test.
func CheckFunc(t testing.TB, prefixes ...string) {
	t.Helper()
	checkFunc(t, Wait, prefixes)
}

func checkFunc(t testing.TB, within time.Duration, prefixes []string) {
	t.Helper()
	if len(prefixes) == 0 {
		panic("leakcheck.CheckFunc: no function name prefix")
	}
	t.Cleanup(func() {
		t.Helper() // report the line that called CheckFunc
		if leaked := Leftover(within, prefixes...); leaked != "" {
			t.Errorf("goroutines running %s still running %v after the test ended:\n\n%s", strings.Join(prefixes, ", "), within, leaked)
		}
	})
}

// Main runs the tests and exits. A passing run fails if goroutines started
// while the tests ran (other than the runtime's and the testing package's)
// are still running Wait after the last test ended; their stacks are
// printed.
func Main(m *testing.M) {
	before := ids()
	code := m.Run()
	if code == 0 {
		if leaked := leftover(Wait, startedSince(before)); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines still running %v after the tests:\n\n%s\n", Wait, leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// Leftover polls until no goroutine other than the caller's runs or was
// created by a function whose name starts with one of prefixes, and returns
// "", or returns their stacks once within has passed. Leftover(0, ...)
// takes a single sample: the goroutines running such code now.
func Leftover(within time.Duration, prefixes ...string) string {
	return leftover(within, func(g goroutine) bool { return g.runs(prefixes) })
}

// leftover polls the goroutines other than the caller's until none is bad
// and returns "", or returns the bad ones' stacks once within has passed.
func leftover(within time.Duration, bad func(goroutine) bool) string {
	self := selfID()
	deadline := time.Now().Add(within)
	pause := 100 * time.Microsecond
	for {
		var found []string
		for _, g := range all() {
			if g.id != self && bad(g) {
				found = append(found, g.stack)
			}
		}
		if len(found) == 0 {
			return ""
		}
		if !time.Now().Before(deadline) {
			return strings.Join(found, "\n\n")
		}
		// Polling, not synchronisation: each round looks again. Short
		// pauses first, as a goroutine on its way out ends soon.
		time.Sleep(min(pause, time.Until(deadline)))
		pause = min(2*pause, 10*time.Millisecond)
	}
}

// goroutine is one goroutine of a runtime.Stack dump.
type goroutine struct {
	id    uint64
	funcs []string // the functions on its stack, innermost first
	// creator is the function whose go statement started it ("" for the
	// main goroutine).
	creator string
	stack   string
}

// runs reports whether g runs, or was created by, a function whose name
// starts with one of prefixes.
func (g goroutine) runs(prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(g.creator, p) {
			return true
		}
		for _, f := range g.funcs {
			if strings.HasPrefix(f, p) {
				return true
			}
		}
	}
	return false
}

// ignored reports whether g belongs to the runtime or the testing package
// rather than to the code under test.
func (g goroutine) ignored() bool {
	if len(g.funcs) == 0 {
		return true
	}
	switch g.funcs[0] {
	case "testing.RunTests", "testing.(*T).Run", "testing.(*T).Parallel",
		"testing.runFuzzing", "testing.runFuzzTests", "testing.tRunner.func1":
		// The testing package's goroutines waiting for tests to end,
		// and parallel tests waiting for their turn.
		return true
	case "os/signal.signal_recv", "os/signal.loop":
		// The signal loop, started by the first signal.Notify, runs for
		// the rest of the process.
		return true
	}
	if strings.HasPrefix(g.creator, "runtime.") {
		// Finalizers and cleanups, shown while they run.
		return true
	}
	for _, f := range g.funcs {
		if f == "runtime.ensureSigM" || strings.HasPrefix(f, "internal/fuzz.") {
			return true
		}
	}
	return false
}

// startedSince matches the goroutines of the code under test that are
// not in before.
func startedSince(before map[uint64]bool) func(goroutine) bool {
	return func(g goroutine) bool { return !before[g.id] && !g.ignored() }
}

// ids is the set of goroutines running now.
func ids() map[uint64]bool {
	gs := all()
	m := make(map[uint64]bool, len(gs))
	for _, g := range gs {
		m[g.id] = true
	}
	return m
}

// selfID is the caller's goroutine.
func selfID() uint64 {
	var buf [64]byte
	return header(string(buf[:runtime.Stack(buf[:], false)]))
}

// all is every goroutine's stack (except the runtime's own).
func all() []goroutine {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var gs []goroutine
	for _, s := range strings.Split(strings.TrimSpace(string(buf)), "\n\n") {
		if g, ok := parse(s); ok {
			gs = append(gs, g)
		}
	}
	return gs
}

// parse reads one goroutine of a dump:
//
//	goroutine 7 [chan receive]:
//	example.com/pkg.(*T).run(0xc000010000)
//		/src/pkg/pkg.go:42 +0x1d
//	created by example.com/pkg.Start in goroutine 6
//		/src/pkg/pkg.go:30 +0x5a
func parse(s string) (goroutine, bool) {
	lines := strings.Split(s, "\n")
	id := header(lines[0])
	if id == 0 {
		return goroutine{}, false
	}
	g := goroutine{id: id, stack: s}
	for _, l := range lines[1:] {
		switch {
		case l == "" || strings.HasPrefix(l, "\t") || strings.HasPrefix(l, "..."):
		case strings.HasPrefix(l, "created by "):
			g.creator, _, _ = strings.Cut(strings.TrimPrefix(l, "created by "), " in goroutine ")
		default:
			g.funcs = append(g.funcs, funcName(l))
		}
	}
	return g, true
}

// header reads the goroutine's number from "goroutine 7 [chan receive]:";
// 0 if l is no such line.
func header(l string) uint64 {
	rest, ok := strings.CutPrefix(l, "goroutine ")
	if !ok {
		return 0
	}
	num, _, _ := strings.Cut(rest, " ")
	id, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return 0
	}
	return id
}

// funcName strips the arguments from a frame's line:
// "pkg.(*T).run(0xc000010000, ...)" is "pkg.(*T).run".
func funcName(l string) string {
	if strings.HasSuffix(l, ")") {
		if i := strings.LastIndex(l, "("); i > 0 {
			return l[:i]
		}
	}
	return l
}
