package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cueroom/cueroom/engine/feed"
	"github.com/cueroom/cueroom/engine/pipeline"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/hub"
	"github.com/cueroom/cueroom/hub/archive"
	"github.com/cueroom/cueroom/hub/station"
	"github.com/cueroom/cueroom/hub/wire"
)

// Several rooms (README "Several rooms"): `cueroom hub` runs the hub,
// `cueroom run --hub` joins it as a station, `cueroom archive` reads its
// archive.

const hubUsage = `Usage: cueroom hub [--listen ADDR] [--nats ADDR] --data DIR [--add-station SITE/NAME]... [--add-reader]

Runs a clinic's hub: a NATS server with JetStream (file storage in DIR) that
rooms join with 'cueroom run --hub URL --station NAME', a monitor page with a
tile per room, and the archive of every session ('cueroom archive'). On
loopback it needs no credentials; on any other address it serves TLS and each
room needs the credentials file --add-station makes.

Flags:
`

func cmdHub(args []string) error {
	fs := flag.NewFlagSet("hub", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", hub.DefaultMonitorListen, "monitor page address host:port")
	natsAddr := fs.String("nats", hub.DefaultNATSListen, "the address rooms and 'cueroom archive' dial (NATS leaf nodes)")
	data := fs.String("data", "", "folder for the hub's JetStream store, credentials and certificate (required)")
	tlsCert := fs.String("tls-cert", "", "TLS certificate (PEM) beyond loopback (default: a self-signed one)")
	tlsKey := fs.String("tls-key", "", "TLS private key (PEM) for --tls-cert")
	token := fs.String("token", "", "monitor control token (default: a new random one)")
	observer := fs.String("observer-token", "", "monitor watch-only token (default: a new random one)")
	var stations multiFlag
	fs.Var(&stations, "add-station", "make credentials for room SITE/NAME (repeatable)")
	reader := fs.Bool("add-reader", false, "make credentials for 'cueroom archive'")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(fs, hubUsage)
			return nil
		}
		return usagef("hub: %v (see 'cueroom hub -h')", err)
	}
	if *data == "" || fs.NArg() > 0 {
		return usagef("hub: give --data DIR, the folder the hub keeps its store in (see 'cueroom hub -h')")
	}
	type pair struct{ site, name string }
	var add []pair
	for _, s := range stations {
		site, name, ok := strings.Cut(s, "/")
		if !ok {
			site, name = "default", s
		}
		if err := wire.ValidName("--add-station site", site); err != nil {
			return usageError{err.Error()}
		}
		if err := wire.ValidName("--add-station", name); err != nil {
			return usageError{err.Error()}
		}
		add = append(add, pair{site, name})
	}
	h, err := hub.Start(hub.Config{NATSListen: *natsAddr, MonitorListen: *listen, DataDir: *data,
		TLSCert: *tlsCert, TLSKey: *tlsKey, Token: *token, ObserverToken: *observer,
		Logf: func(f string, a ...any) { logf("hub: "+f, a...) }})
	if err != nil {
		return usageError{fmt.Sprintf("hub: %v", err)}
	}
	defer h.Close()
	fmt.Printf("cueroom %s — hub\n", version)
	fmt.Printf("  monitor:   %s\n", h.MonitorURL())
	fmt.Printf("  observer:  %s (watch only)\n", h.ObserverURL())
	fmt.Printf("  stations and archive: %s\n", h.NATSURL())
	if fp := h.Fingerprint(); fp != "" {
		fmt.Printf("  TLS certificate SHA-256 fingerprint: %s (check it when the browser asks)\n", fp)
	}
	for _, p := range add {
		creds, err := h.AddStation(p.site, p.name)
		if err != nil {
			return fmt.Errorf("hub: --add-station %s/%s: %w", p.site, p.name, err)
		}
		fmt.Printf("  room %s/%s: credentials %s (copy to the room: cueroom run --creds)\n", p.site, p.name, creds)
	}
	if *reader {
		creds, err := h.AddReader()
		if err != nil {
			return fmt.Errorf("hub: --add-reader: %w", err)
		}
		fmt.Printf("  archive reader: credentials %s (cueroom archive --creds)\n", creds)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer cancel()
	<-ctx.Done()
	return nil
}

const archiveUsage = `Usage: cueroom archive ls --hub URL [--creds FILE]
       cueroom archive get --hub URL [--creds FILE] SESSION [--to DIR]

Lists the sessions archived on a hub (one line each: station, session,
start, size), or fetches one (SITE/STATION/SESSION, or less when that is
unambiguous) into DIR (default: the session's own name, here). A fetched
session replays, reports and exports like a local one.

Flags:
`

func cmdArchive(args []string) error {
	fs := flag.NewFlagSet("archive", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	hubURL := fs.String("hub", "", "the hub's URL, as 'cueroom hub' printed it")
	creds := fs.String("creds", "", "credentials file ('cueroom hub --add-reader'); none on a loopback hub")
	to := fs.String("to", "", "get: the folder to create (default: the session's name)")
	rest, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		printHelp(fs, archiveUsage)
		return nil
	}
	if err != nil {
		return usagef("archive: %v (see 'cueroom archive -h')", err)
	}
	if len(rest) == 0 || (rest[0] != "ls" && rest[0] != "get") {
		return usagef("archive: say ls or get (see 'cueroom archive -h')")
	}
	if *hubURL == "" {
		return usagef("archive: give --hub URL, as 'cueroom hub' printed it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	c, err := archive.Dial(dctx, *hubURL, *creds)
	dcancel()
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	defer c.Close()
	switch rest[0] {
	case "ls":
		if len(rest) != 1 {
			return usagef("archive ls takes no argument")
		}
		es, err := archive.List(ctx, c.NC)
		if err != nil {
			return fmt.Errorf("archive ls: %w", err)
		}
		return archive.WriteList(os.Stdout, es)
	default:
		if len(rest) != 2 {
			return usagef("archive get: give one session (as 'cueroom archive ls' lists it)")
		}
		dest := *to
		if dest == "" {
			dest = filepath.Base(rest[1])
		}
		if err := archive.Get(ctx, c.NC, rest[1], dest); err != nil {
			return fmt.Errorf("archive get: %w", err)
		}
		fmt.Printf("fetched %s into %s\n", rest[1], dest)
		return nil
	}
}

// stationFlags are run's flags for joining a hub.
type stationFlags struct{ hub, station, site, creds string }

func (f *stationFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&f.hub, "hub", "", "join a hub as one of its rooms: nats://HOST:PORT or tls://HOST:PORT, as 'cueroom hub' printed it")
	fs.StringVar(&f.station, "station", "", "this room's name at the hub: letters, digits, - and _")
	fs.StringVar(&f.site, "site", "", "the site's name at the hub (default \"default\")")
	fs.StringVar(&f.creds, "creds", "", "the credentials file the hub made for this room")
}

// check refuses bad names at the flag, and hub flags without --hub.
func (f *stationFlags) check() error {
	if f.hub == "" {
		if f.station != "" || f.site != "" || f.creds != "" {
			return usagef("run: --station, --site and --creds need --hub URL")
		}
		return nil
	}
	if f.station == "" {
		return usagef("run: --hub needs --station NAME, this room's name at the hub")
	}
	if err := wire.ValidName("--station", f.station); err != nil {
		return usageError{err.Error()}
	}
	if f.site != "" {
		if err := wire.ValidName("--site", f.site); err != nil {
			return usageError{err.Error()}
		}
	}
	return nil
}

// roomLink is a running session's side of the hub: the station, and what
// it needs from the session once it exists.
type roomLink struct {
	st     *station.Station
	driver atomic.Pointer[pipeline.Live]
	dash   atomic.Pointer[feed.Server]
	// fp is the HTTPS dashboard's certificate fingerprint (the hub's relay
	// pins it), "" for a plain HTTP dashboard.
	fp string
}

// startStation joins the hub before the sensors start, so the station sees
// their announcements. A hub that does not answer leaves the room running
// alone (the station says so and catches up later).
func startStation(ctx context.Context, f stationFlags, sessions string, pl *pipeline.Pipeline, dashFingerprint string) (*roomLink, error) {
	r := &roomLink{fp: dashFingerprint}
	st, err := station.Start(ctx, station.Config{Site: f.site, Station: f.station, Hub: f.hub, Creds: f.creds,
		StoreDir: filepath.Join(sessions, ".station"),
		State: func() any {
			if d := r.driver.Load(); d != nil {
				return d.State()
			}
			return nil
		},
		OnCommand: func(b []byte) ([]byte, error) {
			if d := r.dash.Load(); d != nil {
				return d.Remote("hub", b), nil
			}
			return nil, errors.New("the session is starting")
		},
		Dashboard: func() (string, string, string) {
			d := r.dash.Load()
			if d == nil {
				return "", "", ""
			}
			return d.Addr(), tokenOf(d.URL()), tokenOf(d.ObserverURL())
		},
		DashboardFingerprint: func() string { return r.fp },
		OnArchived:           func(dir string, rec archive.Record) { _ = record.SetExtra(dir, "archive", rec) },
		Logf:                 func(f string, a ...any) { logf("hub: "+f, a...) },
		Version:              version,
	}, pl.Bus)
	if err != nil {
		return nil, usageError{fmt.Sprintf("--hub: %v", err)}
	}
	r.st = st
	return r, nil
}

// archive puts the finished session on the hub (or queues it while the hub
// is away) and records which in session.json.
func (r *roomLink) archive(dir string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rec, err := r.st.Archive(ctx, dir)
	switch {
	case err != nil:
		logf("hub: the session was not archived: %v (it stays in %s)", err, dir)
	case rec.Pending:
		fmt.Printf("cueroom: archive queued: the hub is away (%s); it is sent when the room next joins\n", rec.Error)
	default:
		fmt.Printf("cueroom: archived on the hub as %s (%d files, SHA-256 checked)\n", rec.Object, rec.Files)
	}
	if err == nil {
		if err := record.SetExtra(dir, "archive", rec); err != nil {
			logf("%v", err)
		}
	}
}

func tokenOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Query().Get("token")
}
