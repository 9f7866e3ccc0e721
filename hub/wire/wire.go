// Package wire is what stations, the hub and the archive agree on: subject
// names, the station and site name rule, the compact sample batch, the
// hello and its answer, and the credentials file.
//
// Subjects (all under one station's own prefix, so one permission covers
// what a station may publish):
//
//	cueroom.<site>.<station>.samples.<device>  sample batches (Batch, binary)
//	cueroom.<site>.<station>.events            one event each (event.Event JSON: kind, t, step, data)
//	cueroom.<site>.<station>.state             the session state (JSON object, when it changed)
//	cueroom.<site>.<station>.streams           a device's channels (sensors.Stream JSON)
//	cueroom.<site>.<station>.hello             the station announces itself (request: Hello → Welcome)
//	cueroom.<site>.<station>.cmd               commands to the station (request/reply)
//	cueroom.<site>.<station>.inbox.>           replies to the station's own requests
//	cueroom.<site>.<station>.src.>             its stream's messages on their way into the hub (JetStream sourcing)
package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Prefix is the first token of every cueroom subject.
const Prefix = "cueroom"

// StreamName is the name of each station's local JetStream stream.
const StreamName = "CUEROOM"

// SourceConsumer names the durable consumer of a station's stream that
// the hub's stream sources through.
const SourceConsumer = "hub"

// HubDomain is the hub's JetStream domain: stations and `cueroom archive`
// reach the hub's JetStream (the archive's Object Store) through it.
const HubDomain = "hub"

// Bucket prefixes the Object Store buckets sessions are archived in: one
// bucket per station (StationBucket), so the hub's permissions can let a
// station write its own archive and no other station's. A bucket named
// Bucket itself (one for all stations, the first layout) is still read.
const Bucket = "cueroom-sessions"

// StationBucket is the archive bucket of one station. The hash keeps
// "a_b"/"c" and "a"/"b_c" apart.
func StationBucket(site, station string) string {
	return Bucket + "_" + site + "_" + station + "_" + nameHash(site, station)
}

// IsArchiveBucket says whether an Object Store bucket holds archived sessions.
func IsArchiveBucket(name string) bool {
	return name == Bucket || strings.HasPrefix(name, Bucket+"_")
}

func nameHash(site, station string) string {
	h := sha256.Sum256([]byte(site + "." + station))
	return hex.EncodeToString(h[:3])
}

// DefaultSite is the site of a station that names none.
const DefaultSite = "default"

// ValidName checks a site or station name: it becomes one token of NATS
// subjects, so only letters, digits, '-' and '_' (at most 64). flag names
// the option it came from, for the message.
func ValidName(flag, name string) error {
	if name == "" {
		return fmt.Errorf("%s: give a name (letters, digits, - and _)", flag)
	}
	if len(name) > 64 {
		return fmt.Errorf("%s %q: at most 64 characters", flag, name)
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
		default:
			return fmt.Errorf("%s %q: %q is not allowed; use letters, digits, - and _ only (the name is a NATS subject token: no '.', '*', '>' or spaces)", flag, name, r)
		}
	}
	return nil
}

// Subjects names one station's subjects.
type Subjects struct{ Site, Station string }

func (s Subjects) base() string { return Prefix + "." + s.Site + "." + s.Station }

// All is every subject of the station ("cueroom.<site>.<station>.>").
func (s Subjects) All() string { return s.base() + ".>" }

// Samples is the subject of one device's sample batches.
func (s Subjects) Samples(device string) string { return s.base() + ".samples." + Token(device) }

// SamplesAll is the subject of every device's sample batches.
func (s Subjects) SamplesAll() string { return s.base() + ".samples.>" }

// Events carries the session's events.
func (s Subjects) Events() string { return s.base() + ".events" }

// State carries the session's state.
func (s Subjects) State() string { return s.base() + ".state" }

// Streams carries device descriptions.
func (s Subjects) Streams() string { return s.base() + ".streams" }

// Hello is where the station announces itself to the hub.
func (s Subjects) Hello() string { return s.base() + ".hello" }

// Cmd is where commands reach the station.
func (s Subjects) Cmd() string { return s.base() + ".cmd" }

// Inbox prefixes the replies to the station's own requests.
func (s Subjects) Inbox() string { return s.base() + ".inbox" }

// Deliver prefixes the station stream's messages sourced into the hub.
func (s Subjects) Deliver() string { return s.base() + ".src" }

// SourceDeliver is where the station's stream is delivered to the hub
// (the deliver subject of its SourceConsumer).
func (s Subjects) SourceDeliver() string { return s.Deliver() + ".hub" }

// TunnelOpen is where the hub asks the station for a connection to its
// dashboard; TunnelUp carries the hub's bytes of connection id to the
// station, TunnelDown the station's back (an empty message ends it).
func (s Subjects) TunnelOpen() string          { return s.base() + ".tunnel.open" }
func (s Subjects) TunnelUp(id string) string   { return s.base() + ".tunnel." + id + ".up" }
func (s Subjects) TunnelDown(id string) string { return s.base() + ".tunnel." + id + ".down" }

// Stored are the subjects the station's stream keeps (and the hub sources).
func (s Subjects) Stored() []string {
	return []string{s.SamplesAll(), s.Events(), s.State(), s.Streams()}
}

// Parse splits a cueroom subject into site, station and the rest
// ("samples.bitalino", "events"...).
func Parse(subject string) (site, station, rest string, ok bool) {
	p := strings.SplitN(subject, ".", 4)
	if len(p) != 4 || p[0] != Prefix {
		return "", "", "", false
	}
	return p[1], p[2], p[3], true
}

// Token makes a device name one safe subject token: characters a name may
// not have become '_'.
func Token(s string) string {
	if ValidName("", s) == nil {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}

// Domain is the JetStream domain of a station instance: unique per
// instance (its id), so a second station that took the same name never
// answers the hub's requests meant for the first.
func Domain(instance string) string { return "st-" + Token(instance) }

// HubStream names the hub's stream that gathers one station's messages.
// The hash keeps "a_b"/"c" and "a"/"b_c" apart.
func HubStream(site, station string) string {
	return "ST_" + site + "_" + station + "_" + nameHash(site, station)
}

// Hello is a station's announcement, sent every few seconds while the hub
// is reachable (it renews the station's lease on its name).
type Hello struct {
	Site     string `json:"site"`
	Station  string `json:"station"`
	Instance string `json:"instance"` // random, kept in the station's store: the same station after a restart
	Domain   string `json:"domain"`   // its JetStream domain
	Version  string `json:"version,omitempty"`
	// Dashboard, when set, lets the hub relay the station's dashboard
	// (the monitor's click-through): its tokens, which only the hub reads.
	Dashboard *Dashboard `json:"dashboard,omitempty"`
}

// Dashboard is what the hub needs to relay a station's dashboard.
type Dashboard struct {
	Host     string `json:"host"` // host:port the dashboard answers to (its Host check)
	Control  string `json:"control"`
	Observer string `json:"observer"`
	// Fingerprint is the SHA-256 of the dashboard's TLS certificate (as
	// Fingerprint writes it) when it serves HTTPS: the hub speaks TLS to it
	// through the tunnel, trusting that certificate alone. "": plain HTTP.
	Fingerprint string `json:"fingerprint,omitempty"`
}

// Welcome is the hub's answer to a Hello.
type Welcome struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"` // why the station was refused, in words
	// Retry: the hub could not take the station just now (its JetStream
	// busy); the station greets it again later rather than leave.
	Retry bool `json:"retry,omitempty"`
}
