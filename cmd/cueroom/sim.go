package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/cueroom/cueroom/sensors/bitalino"
	"github.com/cueroom/cueroom/sensors/simport"
)

// cmdSim runs a simulated device on a pseudo-terminal until interrupted, so
// the bridge (or any serial tool) can be tried without hardware.
func cmdSim(args []string) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	eda := fs.String("eda", "current", "EDA sensor revision the simulator encodes: current, older, original")
	if err := fs.Parse(args); err != nil {
		return usagef("sim: %v (usage: cueroom sim bitalino [--eda REV])", err)
	}
	if fs.NArg() != 1 || fs.Arg(0) != "bitalino" {
		return usagef("sim: give the device to simulate: cueroom sim bitalino")
	}
	sim, err := bitalino.NewSim(bitalino.SimConfig{EDARevision: bitalino.EDARevision(*eda)})
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
	fmt.Fprintf(os.Stderr, "cueroom: simulated BITalino on %s (115200 8N1); try: cueroom run --sensor bitalino:%s — Ctrl-C stops\n", pty.Path, pty.Path)
	select {
	case <-ctx.Done():
	case <-pty.Done():
		return pty.Err()
	}
	return nil
}
