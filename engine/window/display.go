package window

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// ErrNoDisplay says there is no display and no Xvfb to make one.
var ErrNoDisplay = errors.New("no display (DISPLAY is not set) and Xvfb is not installed: run 'make run', which installs it, or apt-get install xvfb")

// EnsureDisplay starts a virtual X display (Xvfb) when there is none, so a
// session can run on a headless machine with the dashboard as its only view.
// It returns a function that stops the display.
func EnsureDisplay(logf func(string, ...any)) (stop func(), err error) {
	if os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != "" {
		return func() {}, nil
	}
	xvfb, err := exec.LookPath("Xvfb")
	if err != nil {
		return nil, ErrNoDisplay
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	// -displayfd: Xvfb picks a free display and writes its number when ready.
	cmd := exec.Command(xvfb, "-displayfd", "3", "-screen", "0", "1920x1080x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	// Its own process group: a Ctrl-C meant for cueroom must not kill the
	// display under the window before the session has closed its recording
	// (Xlib exits the process when its display dies). Pdeathsig takes it
	// down if cueroom itself dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting Xvfb: %w", err)
	}
	w.Close()
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		got <- strings.TrimSpace(line)
		r.Close()
	}()
	stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	select {
	case n := <-got:
		if n == "" {
			stop()
			return nil, fmt.Errorf("Xvfb exited before it was ready")
		}
		os.Setenv("DISPLAY", ":"+n)
		logf("no display found: started a virtual display (Xvfb) on :%s — the patient window is not visible on this machine; follow the session on the dashboard", n)
		return stop, nil
	case <-time.After(10 * time.Second):
		stop()
		return nil, fmt.Errorf("Xvfb did not start within 10 s")
	}
}
