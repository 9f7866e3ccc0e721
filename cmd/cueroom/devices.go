package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/cueroom/cueroom/sensors/detect"
	"github.com/cueroom/cueroom/sensors/spec"
)

// cmdDevices lists serial ports and what is probably behind each.
func cmdDevices(args []string) error {
	fs := flag.NewFlagSet("devices", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	probe := fs.Bool("probe", true, "listen on each port for devices that stream unprompted")
	active := fs.Bool("active", false, "also send identification queries (e.g. BITalino's version command): only when nothing else is connected that could misread them")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(fs, "Usage: cueroom devices [--probe=false] [--active]\n\nLists serial ports and the sensors recognised on them.\n\nFlags:\n")
			return nil
		}
		return usagef("devices: %v (usage: cueroom devices [--probe=false] [--active])", err)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	ports, err := detect.List(ctx, detect.Options{Probe: *probe, Active: *active})
	if err != nil {
		return err
	}
	if len(ports) == 0 {
		fmt.Println("No serial ports found. Plug the sensor in (USB), or bind it (Bluetooth: rfcomm bind 0 ADDRESS).")
	}
	for _, p := range ports {
		fmt.Println(p.String())
	}
	fmt.Println()
	fmt.Println("Sensor kinds (--sensor KIND:PORT[?options], or sim:KIND):")
	fmt.Print(spec.Usage())
	return nil
}
