package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/cueroom/cueroom/sensors/simport"
	"github.com/cueroom/cueroom/sensors/spec"
)

// cmdSim runs a simulated device on a pseudo-terminal until interrupted, so
// the bridge (or any serial tool) can be tried without hardware.
func cmdSim(args []string) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(fs, "Usage: cueroom sim KIND[?options]\n\nRuns a simulated sensor that speaks the real device's wire protocol on a pseudo-terminal and prints its path;\ngive that path to 'cueroom run --sensor KIND:PATH' in another terminal. Kinds:\n"+spec.Usage())
			return nil
		}
		return usagef("sim: %v (usage: cueroom sim KIND[?options], e.g. cueroom sim bitalino)", err)
	}
	if fs.NArg() != 1 {
		return usagef("sim: give the device to simulate, e.g. cueroom sim bitalino; kinds:\n%s", spec.Usage())
	}
	sp, err := spec.Parse("sim:" + fs.Arg(0))
	if err != nil {
		return usagef("sim: %v", err)
	}
	sim, err := sp.NewSim()
	if err != nil {
		return usagef("sim: %v", err)
	}
	defer sim.Close()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	pty, err := simport.Start(ctx, sim)
	if err != nil {
		return err
	}
	defer pty.Close()
	fmt.Println(pty.Path)
	fmt.Fprintf(os.Stderr, "cueroom: simulated %s on %s; try: cueroom run --sensor %s:%s — Ctrl-C stops\n", sp.Kind, pty.Path, sp.Kind, pty.Path)
	select {
	case <-ctx.Done():
	case <-pty.Done():
		return pty.Err()
	}
	return nil
}
