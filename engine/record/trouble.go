package record

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// TroubleKind says what happened to the recording.
type TroubleKind int

const (
	// TroubleFailed: a write or an fsync failed (a full disk): recording
	// has stopped, the session goes on, the writer tries again every
	// second or so.
	TroubleFailed TroubleKind = iota + 1
	// TroubleResumed: recording goes on in a new segment file.
	TroubleResumed
)

func (k TroubleKind) String() string {
	switch k {
	case TroubleFailed:
		return "failed"
	case TroubleResumed:
		return "resumed"
	}
	return fmt.Sprintf("TroubleKind(%d)", int(k))
}

// Trouble is what OnTrouble is told.
type Trouble struct {
	Kind TroubleKind
	Err  error     // the write error (for TroubleResumed, the one that had stopped recording)
	Time time.Time // when, on the wall clock
	// Segment is the file: the one that failed, or the new one recording
	// resumed in.
	Segment string
	// Lost is what was not recorded while recording was stopped (for
	// TroubleResumed; zero for TroubleFailed).
	Lost Lost
}

// Message says it in a sentence for the therapist.
func (t Trouble) Message() string {
	switch t.Kind {
	case TroubleFailed:
		return fmt.Sprintf("recording stopped: writing %s failed (%v) — free disk space; the session goes on, what was recorded is kept, and recording resumes by itself when there is room",
			t.Segment, cause(t.Err))
	case TroubleResumed:
		return fmt.Sprintf("recording resumed in %s; not recorded while it was stopped: %s", t.Segment, t.Lost)
	}
	return fmt.Sprintf("recording: %v", t.Err)
}

// cause is the innermost error: "no space left on device" rather than the
// whole story, which session.json keeps.
func cause(err error) error {
	for err != nil {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
	return errors.New("unknown error")
}

// OnTrouble calls f when recording fails (a full disk) and when it
// resumes, at once and in order, from a goroutine of the writer's (Close's
// own at the end), never with the writer's lock held. f must not call
// Close. The failure also goes into session.json.
func OnTrouble(f func(Trouble)) Option {
	return func(o *options) { o.onTrouble = f }
}

// Outage is one time recording failed, as session.json keeps it.
type Outage struct {
	Start   time.Time `json:"start"`   // when the write failed (wall clock)
	Error   string    `json:"error"`   // what failed
	Segment string    `json:"segment"` // the file it failed in
	// Lost is what was not recorded: the samples and events that arrived
	// while recording was stopped, and what was waiting to be written
	// when it failed. Events and stream announcements are kept in memory
	// (up to 1 MiB) and written when recording resumes, so they are lost
	// only if it never does.
	Lost Lost `json:"lost"`
	// Unsynced is what had been written to the failed file since its last
	// successful fsync when an fsync failed: it may or may not be on the
	// disk (the readers read what is there).
	Unsynced *Counts `json:"unsynced,omitempty"`
	// Resumed is when recording went on, in ResumedIn; zero if it never
	// did (the session ended while it was stopped).
	Resumed   time.Time `json:"resumed,omitzero"`
	ResumedIn string    `json:"resumed_in,omitempty"`
}

// Lost counts what a write failure kept out of the recording.
type Lost struct {
	Events  int64 `json:"events"`
	Samples int64 `json:"samples"`
	Streams int64 `json:"streams,omitempty"` // stream announcements
	// From and To are the session times of the earliest and the latest
	// sample or event lost, in ns; both 0 when none was.
	From time.Duration `json:"from_ns"`
	To   time.Duration `json:"to_ns"`
}

// none says nothing was lost.
func (l Lost) none() bool { return l.Events == 0 && l.Samples == 0 && l.Streams == 0 }

// add counts events and samples with session times from..to, and streams.
func (l *Lost) add(events, samples, streams int64, from, to time.Duration) {
	if events+samples > 0 {
		if l.Events+l.Samples == 0 {
			l.From, l.To = from, to
		}
		l.From, l.To = min(l.From, from), max(l.To, to)
	}
	l.Events += events
	l.Samples += samples
	l.Streams += streams
}

func (l Lost) String() string {
	if l.none() {
		return "nothing"
	}
	var parts []string
	parts = append(parts, plural(l.Samples, "sample"), plural(l.Events, "event"))
	if l.Streams > 0 {
		parts = append(parts, plural(l.Streams, "stream announcement"))
	}
	s := strings.Join(parts, ", ")
	if l.Events+l.Samples > 0 {
		s += fmt.Sprintf(" (session time %s–%s)", clock(l.From), clock(l.To))
	}
	return s
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// outagesSummary says in a sentence what the outages of a session lost,
// for session.json's "error" and Close's error once recording resumed.
func outagesSummary(outages []Outage) string {
	var lost Lost
	for _, o := range outages {
		if o.Lost.Events+o.Lost.Samples > 0 {
			lost.add(o.Lost.Events, o.Lost.Samples, 0, o.Lost.From, o.Lost.To)
		}
		lost.Streams += o.Lost.Streams
	}
	times := "once"
	if len(outages) > 1 {
		times = fmt.Sprintf("%d times", len(outages))
	}
	var segs []string
	for _, o := range outages {
		if o.ResumedIn != "" {
			segs = append(segs, o.ResumedIn)
		}
	}
	return fmt.Sprintf("recording failed %s and resumed (in %s); not recorded: %s; first failure: %s",
		times, strings.Join(segs, ", "), lost, outages[0].Error)
}

// outageError is the error Close returns when recording failed and
// resumed: the summary, wrapping the first write error.
type outageError struct {
	summary string
	first   error
}

func (e *outageError) Error() string { return "record: " + e.summary }
func (e *outageError) Unwrap() error { return e.first }
