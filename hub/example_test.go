package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/hub"
	"github.com/cueroom/cueroom/hub/archive"
	"github.com/cueroom/cueroom/hub/station"
	"github.com/cueroom/cueroom/hub/wire"
)

// `cueroom hub --listen ADDR --nats ADDR --data DIR [--add-station SITE/NAME]...`
func ExampleStart() {
	h, err := hub.Start(hub.Config{NATSListen: "0.0.0.0:7422", MonitorListen: "0.0.0.0:7880", DataDir: "hub-data", Logf: log.Printf})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close()
	for _, s := range []string{"clinic/room1", "clinic/room2"} {
		site, name, _ := strings.Cut(s, "/")
		creds, err := h.AddStation(site, name)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("station %s: copy %s to it (cueroom run --creds)\n", s, creds)
	}
	reader, _ := h.AddReader()
	fmt.Printf("monitor:   %s\nobserver:  %s\nstations and archive: %s (archive reader credentials: %s)\n",
		h.MonitorURL(), h.ObserverURL(), h.NATSURL(), reader)
	if fp := h.Fingerprint(); fp != "" {
		fmt.Printf("TLS certificate SHA-256 fingerprint: %s\n", fp)
	}
}

// `cueroom run --hub URL --station NAME [--site NAME] [--creds FILE]`: the
// station follows the session's bus like the recording does.
func Example_station() {
	b := bus.New() // pipeline.New's p.Bus
	if err := wire.ValidName("--station", "room1"); err != nil {
		log.Fatal(err) // at the flag
	}
	st, err := station.Start(context.Background(), station.Config{
		Site: "clinic", Station: "room1", Hub: "tls://hub.clinic.example:7422", Creds: "clinic.room1.creds",
		StoreDir:   filepath.Join("sessions", ".station"),
		State:      func() any { return nil },                            // Driver.State
		OnCommand:  func(cmd []byte) ([]byte, error) { return cmd, nil }, // the dashboard's command path
		OnArchived: func(dir string, rec archive.Record) { /* session.json */ },
		Dashboard:  func() (string, string, string) { return "127.0.0.1:7878", "control-token", "observer-token" },
		Logf:       log.Printf,
	}, b)
	if err != nil {
		log.Fatal(err)
	}
	// ... the session runs; the pipeline closes the bus, the recording closes ...
	b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rec, err := st.Archive(ctx, "sessions/2026-12-06_130642_alcohol")
	if err == nil {
		j, _ := json.Marshal(rec) // for session.json: archived, or pending
		fmt.Println(string(j))
	}
	st.Close()
}

// `cueroom archive ls|get --hub URL [--creds FILE]`
func Example_archive() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := archive.Dial(ctx, "tls://hub.clinic.example:7422", "reader.creds")
	if err != nil {
		log.Fatal(err) // "hub ... not reachable", "the hub ... refused the connection ..."
	}
	defer c.Close()
	es, err := archive.List(ctx, c.NC)
	if err != nil {
		log.Fatal(err)
	}
	_ = archive.WriteList(os.Stdout, es)
	if err := archive.Get(ctx, c.NC, "clinic/room1/2026-12-06_130642_alcohol", "2026-12-06_130642_alcohol"); err != nil {
		log.Fatal(err)
	}
}
