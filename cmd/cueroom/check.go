package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cueroom/cueroom/assets"
	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/scenes"
)

func cmdCheck(args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(fs, "Usage: cueroom check PROTOCOL.yaml\n\nValidates a protocol file and every media file it references, and lists every problem found.\n")
			return nil
		}
		return usagef("check: %v (usage: cueroom check PROTOCOL.yaml)", err)
	}
	if fs.NArg() != 1 {
		return usagef("check: give one protocol file (usage: cueroom check PROTOCOL.yaml)")
	}
	p, err := loadProtocol(fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Printf("%s: ok — %q, %d steps after the baseline, %v in all\n", p.File, p.Title, len(p.Steps), total(p))
	return nil
}

// loadProtocol reads, validates and decodes everything a session will play,
// so no bad asset is found mid-session. An empty path means the bundled demo.
func loadProtocol(path string) (*scenes.Protocol, error) {
	var p *scenes.Protocol
	var err error
	// Structure and media are checked together: every problem at once.
	if path == "" {
		p, err = scenes.LoadFSChecked(assets.DemoFS(), "protocol.yaml")
	} else {
		if _, serr := os.Stat(path); serr != nil {
			return nil, usagef("%s: no such protocol file: give the path of a .yaml protocol", path)
		}
		p, err = scenes.LoadChecked(path)
	}
	if err != nil {
		return nil, usageError{err.Error()}
	}
	if _, err := engine.LoadMedia(p); err != nil {
		return nil, usageError{err.Error()}
	}
	return p, nil
}

// total is how long the protocol plays without pauses or rating waits.
func total(p *scenes.Protocol) time.Duration {
	var sum time.Duration
	for _, s := range p.All() {
		sum += s.Duration
	}
	return sum
}
