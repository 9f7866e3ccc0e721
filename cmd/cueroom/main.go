// Command cueroom runs cue exposure therapy sessions: the patient window, the
// sensors, the therapist's dashboard and the recording.
//
//	cueroom run [flags] [PROTOCOL.yaml]   play a session (the bundled demo by default)
//	cueroom check PROTOCOL.yaml           validate a protocol and every asset it uses
//	cueroom sim KIND                      run a simulated sensor on a pseudo-terminal
//	cueroom devices                       list serial ports and recognised sensors
//	cueroom replay SESSION                play a recorded session back in sync
//	cueroom report SESSION...             reactivity report (HTML, or --json)
//	cueroom repair SESSION                cut the torn tail a crash left
//	cueroom hub --data DIR                a clinic's hub (NATS): rooms, monitor, archive
//	cueroom archive ls|get --hub URL      the hub's archive of sessions
//	cueroom version
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// usageError is bad input from the user: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const usage = `cueroom — cue exposure therapy sessions with live physiology

Usage:
  cueroom run [flags] [PROTOCOL.yaml]  play a session; with no protocol, the bundled demo
  cueroom check PROTOCOL.yaml          validate a protocol and every asset it references
  cueroom sim KIND[?options]           simulate a sensor on a pseudo-terminal and print its path
  cueroom devices [--active]           list serial ports and the sensors recognised on them
  cueroom analyze FILE.csv --rate HZ [--ecg COL] [--ppg COL] [--eda COL] [--events COL] [--json]
                                       beats, heart rate, SCRs and cue reactivity of a CSV recording
  cueroom analyze SESSION... [--json]  per cue and step reactivity and habituation of recorded sessions
  cueroom export SESSION --format xdf|bids|csv --out PATH
                                       a recorded session for LabRecorder/pyxdf, BIDS tools or spreadsheets
  cueroom report SESSION... [--out FILE.html] [--plots svg|png] [--json]
                                       reactivity tables, habituation curves and plots in one HTML file
  cueroom repair SESSION               cut the torn tail a crash left in a recording (what the warnings suggest)
  cueroom timing SESSION [--channel A5] [--json]
                                       onset → light latency per cue kind, from a photodiode on the sync patch
  cueroom replay [flags] SESSION       play a recorded session back: window, sound and dashboard in sync;
                                       pause, 0.25–16× speed, seek to a time or step (keys or dashboard)
  cueroom hub --data DIR [--listen ADDR] [--nats ADDR] [--add-station SITE/NAME]...
                                       a clinic's hub: rooms join it (run --hub URL --station NAME),
                                       one monitor page, one archive of every session
  cueroom archive ls|get --hub URL [--creds FILE] [SESSION]
                                       list or fetch the sessions archived on a hub
  cueroom version                      print the version

Run 'cueroom help COMMAND' (or 'cueroom COMMAND -h') for a command's flags.
`

// printHelp prints a command's usage and flags on stdout: asking for help
// is not an error (exit 0), and help belongs where it can be piped.
func printHelp(fs *flag.FlagSet, usage string) {
	fmt.Print(usage)
	if !strings.HasSuffix(usage, "\n") {
		fmt.Println()
	}
	fs.SetOutput(os.Stdout)
	fs.PrintDefaults()
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(args[1:])
	case "check":
		err = cmdCheck(args[1:])
	case "sim":
		err = cmdSim(args[1:])
	case "devices":
		err = cmdDevices(args[1:])
	case "analyze":
		err = cmdAnalyze(args[1:])
	case "export":
		err = cmdExport(args[1:])
	case "replay":
		err = cmdReplay(args[1:])
	case "report":
		err = cmdReport(args[1:])
	case "repair":
		err = repairCmd(args[1:], os.Stdout)
	case "timing":
		err = cmdTiming(args[1:])
	case "hub":
		err = cmdHub(args[1:])
	case "archive":
		err = cmdArchive(args[1:])
	case "version", "--version":
		fmt.Println("cueroom", version)
	case "help", "-h", "--help":
		if len(args) > 1 && args[1] != "help" {
			return run([]string{args[1], "-h"}) // 'cueroom help run' is 'cueroom run -h'
		}
		fmt.Print(usage)
	default:
		err = usagef("unknown command %q: run 'cueroom help' for the list", args[0])
	}
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "cueroom:", err)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}
