// Package lsltest runs LSL tests where they cannot reach a real network,
// and runs liblsl's own programs against ours.
//
// Discovery sends UDP multicast and broadcast on every interface, so every
// test that discovers runs in a private network namespace with only
// loopback: Isolate re-executes the test binary for that one test under
// `unshare -n`, with multicast switched on for the namespace's loopback
// and 224.0.0.0/4 routed to it (without that route liblsl's discovery finds
// only one of several outlets). The host's own loopback is never touched.
// Package lsl itself refuses discovery in a test outside such a namespace
// (lsl.ErrNotIsolated), so a test that forgets Isolate fails instead of
// sending.
package lsltest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cueroom/cueroom/lsl"
)

// EnvInside marks a test process already inside its private namespace.
const EnvInside = "CUEROOM_LSL_NETNS"

// Setup is what runs inside the namespace before the test binary.
const Setup = `ip link set lo up multicast on && ip route add 224.0.0.0/4 dev lo && exec "$0" "$@"`

// Isolate runs the calling test in a private network namespace. Outside
// one it re-executes the test binary for this test only, inside a new
// namespace, reports its output and result, and returns false: the caller
// returns at once. Inside it returns true and the test runs.
//
//	func TestX(t *testing.T) {
//		if !lsltest.Isolate(t) {
//			return
//		}
//		...
//	}
func Isolate(t *testing.T) bool {
	t.Helper()
	if os.Getenv(EnvInside) == "1" {
		if !lsl.Isolated() {
			t.Fatalf("%s=1 but this process sees non-loopback interfaces: not in a private network namespace", EnvInside)
		}
		return true
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("LSL tests need unshare(1) for a private network namespace: not found")
	}
	if out, err := exec.Command(unshare, "-n", "true").CombinedOutput(); err != nil {
		t.Skipf("LSL tests need a private network namespace (unshare -n, as root or with user namespaces): %v %s", err, out)
	}
	var pat []string
	for _, p := range strings.Split(t.Name(), "/") {
		pat = append(pat, "^"+regexp.QuoteMeta(p)+"$")
	}
	args := []string{"-n", "sh", "-c", Setup, os.Args[0], "-test.run=" + strings.Join(pat, "/"), "-test.count=1", "-test.v"}
	if d, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout="+time.Until(d).Round(time.Second).String())
	}
	cmd := exec.Command(unshare, args...)
	cmd.Env = append(os.Environ(), EnvInside+"=1")
	out, err := cmd.CombinedOutput()
	text := string(out)
	t.Logf("in a private network namespace:\n%s", text)
	switch {
	case err != nil:
		t.Fatalf("the test failed in its namespace: %v", err)
	case strings.Contains(text, "--- SKIP: "+t.Name()):
		t.Skip("skipped in its namespace (see above)")
	case !strings.Contains(text, "--- PASS: "+t.Name()):
		t.Fatalf("the test did not run in its namespace")
	}
	return false
}

// Config is the network configuration tests use: discovery on loopback
// only, whatever interfaces exist.
func Config() lsl.Config { return lsl.Config{Interfaces: []string{"lo"}} }

// LibLSL is the directory scripts/liblsl.sh built liblsl in ($CUEROOM_LIBLSL
// or its default cache); the test skips when it is not built.
func LibLSL(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("CUEROOM_LIBLSL")
	if dir == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache")
		}
		dir = filepath.Join(cache, "cueroom", "liblsl-1.16.2")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".built-*")); len(m) == 0 {
		t.Skipf("liblsl 1.16.2 is not built in %s: run scripts/liblsl.sh (make test does) or set CUEROOM_LIBLSL", dir)
	}
	return dir
}

// Proc is a running liblsl program whose output is read line by line.
type Proc struct {
	cmd   *exec.Cmd
	lines chan string
	stdin io.WriteCloser
	mu    sync.Mutex
	all   []string
	done  chan struct{}
}

// Example starts one of liblsl's example programs; the test's cleanup
// kills it. Its stdout is line buffered (stdbuf) so lines arrive as printed.
func Example(t testing.TB, name string, args ...string) *Proc {
	t.Helper()
	dir := LibLSL(t)
	return Start(t, dir, filepath.Join(dir, "build", "examples", name), args...)
}

// Start runs a program linked against the liblsl in dir.
func Start(t testing.TB, dir, prog string, args ...string) *Proc {
	t.Helper()
	if _, err := exec.LookPath("stdbuf"); err != nil {
		t.Skip("stdbuf (coreutils) is needed to read liblsl programs' output as printed")
	}
	cmd := exec.Command("stdbuf", append([]string{"-oL", "-eL", prog}, args...)...)
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+filepath.Join(dir, "build"))
	// liblsl reads lsl_api.cfg from the working directory: use an empty one.
	cmd.Dir = t.TempDir()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", prog, err)
	}
	p := &Proc{cmd: cmd, lines: make(chan string, 1<<16), stdin: stdin, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			if len(p.all) == keepLines {
				p.all = append(p.all[:0], p.all[keepLines/2:]...)
			}
			p.all = append(p.all, sc.Text())
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default: // nobody reads: keep it in all only
			}
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill() //nolint:errcheck // may have exited
		cmd.Wait()         //nolint:errcheck // killed
		<-p.done
	})
	return p
}

// Write sends text to the program's standard input.
func (p *Proc) Write(s string) error {
	_, err := io.WriteString(p.stdin, s)
	return err
}

// ErrExited is returned by Expect when the program ended first.
var ErrExited = errors.New("lsltest: the program exited")

// Expect waits for a line matching re and returns its submatches.
func (p *Proc) Expect(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				return nil, ErrExited
			}
			if m := re.FindStringSubmatch(l); m != nil {
				return m, nil
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("no line matching %s: %w\noutput so far:\n%s", re, ctx.Err(), p.Output())
		}
	}
}

// keepLines bounds what Output keeps of a talkative program.
const keepLines = 2000

// Output is what the program printed so far (its last thousand lines or
// more).
func (p *Proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.all, "\n")
}
