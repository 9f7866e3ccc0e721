package feed

import (
	"errors"
	"fmt"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cueroom/cueroom/engine/xr"
	"github.com/cueroom/cueroom/event"
)

// The display role: the headset page (engine/xr, README "The display
// role"). It gets hello (the state only), state, the events that change
// what it draws, and pongs; every message it sends goes to its connection's
// xr.Display, which acts on the session (Config.Headset.Session). One live
// display at a time: a second is refused (codeDisplayBusy, then close code
// 1008 with CloseDisplayBusy), so a patient's headset cannot be joined, or
// its stop button raced, by another; a reconnecting headset gets in once
// the server has let the old connection go (at most displayQuiet).

// codeDisplayBusy refuses a second display while one is connected.
const codeDisplayBusy = "display_busy"

// CloseDisplayBusy is the close reason (code 1008) a second display gets.
const CloseDisplayBusy = "another headset is connected"

// displayHello is the hello's session for a display: the state it draws,
// not the protocol's title, substance or step names.
type displayHello struct {
	State any `json:"state,omitempty"`
}

// displayKinds are the events a display gets: those that change what it
// shows (README: step_start, command, patient_stop, rating_prompt, rating,
// session_end) and the session's start and step ends. Not markers,
// alerts, SCRs, onsets or looks: the therapist's notes and the patient's
// physiology are not the headset's business.
var displayKinds = map[event.Kind]bool{
	event.KindSessionStart: true, event.KindSessionEnd: true,
	event.KindStepStart: true, event.KindStepEnd: true,
	event.KindCommand: true, event.KindPatientStop: true,
	event.KindRatingPrompt: true, event.KindRating: true,
}

// forDisplay says whether an event goes to displays.
func forDisplay(e *event.Event) bool { return displayKinds[e.Kind()] }

// displayBacklog is what a display gets on connect: hello, the state, and
// the recent events it draws from. Caller holds s.mu.
func (s *Server) displayBacklog(hello []byte) [][]byte {
	backlog := [][]byte{hello}
	if s.state != nil {
		backlog = append(backlog, s.state)
	}
	return s.hist.appendDisplay(backlog, time.Now(), s.cfg.History)
}

// appendDisplay appends the events for displays younger than window,
// oldest first.
func (h *history) appendDisplay(dst [][]byte, now time.Time, window time.Duration) [][]byte {
	for _, it := range h.items[h.head:] {
		if it.display && it.msg != nil && now.Sub(it.at) <= window {
			dst = append(dst, it.msg)
		}
	}
	return dst
}

// refuseDisplay turns away a display while another is connected: an error
// saying why, then the close frame. conn is not registered.
func (s *Server) refuseDisplay(conn *websocket.Conn, remote string) {
	why := "another headset is connected to this session (one display at a time); close the other headset's page first"
	s.refuse(remote, "headset connection", why, true)
	deadline := time.Now().Add(s.lim.closeGrace)
	_ = conn.SetWriteDeadline(deadline)
	if conn.WriteMessage(websocket.TextMessage, encodeError(&protoError{Code: codeDisplayBusy, Msg: why})) == nil {
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, CloseDisplayBusy), deadline)
	}
	conn.Close()
}

// displayAlert publishes a headset alert (lost, back) on the session.
func (s *Server) displayAlert(a event.Alert) {
	h := s.cfg.Headset
	step, _ := h.Session.Showing()
	h.Session.Publish(h.Session.Now(), step, a)
}

// handleDisplay hands one display message to the connection's Display and
// sends back its reply (a pong) or its refusal. The patient's stop and
// answers are audited like commands; a therapist's command is refused
// (unknown_type) and audited as refused.
func (c *client) handleDisplay(data []byte) {
	reply, err := c.display.Handle(data)
	switch {
	case err != nil:
		c.enqueue(encodeError(c.displayRefusal(data, err)))
	case reply != nil:
		c.enqueue(reply)
		return // a pong: nothing to audit
	}
	m, perr := xr.ParseDisplay(data)
	if perr != nil || (m.Cmd != xr.CmdPatientStop && m.Cmd != xr.CmdAnswer) {
		return
	}
	e := AuditEntry{Event: AuditCommand, Client: c.id, Remote: c.remote, Role: c.role, Cmd: m.Cmd, ID: m.ID, OK: err == nil}
	if m.Cmd == xr.CmdAnswer {
		e.Args = map[string]any{"scale": m.Scale, "value": m.Value}
	}
	if err != nil {
		e.Result = err.Error()
	}
	c.s.audit(e)
}

// displayRefusal is the error message for a refused display message.
func (c *client) displayRefusal(data []byte, err error) *protoError {
	pe := &protoError{Code: codeBadJSON, Msg: err.Error()}
	var xe *xr.Error
	if errors.As(err, &xe) {
		pe = &protoError{Code: xe.Code, ID: xe.ID, Msg: xe.Msg}
	}
	// A therapist's command on the display link (whatever xr made of its
	// args): refused as a type a display may not send, and audited as the
	// observer's are.
	cmd, cerr := parseClientMessage(data)
	if cerr != nil {
		return pe
	}
	pe.Code, pe.ID = codeUnknownType, cmd.ID
	pe.Msg = fmt.Sprintf("the headset (display link) cannot send commands (%q): it may send only display messages; commands need the therapist's control link", cmd.Cmd)
	c.s.audit(AuditEntry{Event: AuditCommand, Client: c.id, Remote: c.remote, Role: c.role, Cmd: cmd.Cmd, ID: cmd.ID, Args: cmd.Args, Result: pe.Msg})
	return pe
}
