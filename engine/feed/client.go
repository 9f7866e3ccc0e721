package feed

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cueroom/cueroom/engine/xr"
)

// client is one connected dashboard: a read pump that handles its commands
// and a write pump, the connection's only writer, fed by a bounded queue.
type client struct {
	s      *Server
	id     string
	from   string // remote address and id, for Command.From and logs
	role   string // RoleControl, RoleObserve or RoleDisplay
	remote string
	conn   *websocket.Conn
	// display handles what a display (RoleDisplay) sends; nil for
	// dashboards. Read pump only.
	display *xr.Display

	send     chan []byte   // bounded; full means the client is too slow
	done     chan struct{} // closed once by kill
	readDone chan struct{} // closed when the read pump has returned

	once      sync.Once
	closeCode int    // 0: the peer is gone, no close frame to send
	closeText string // reason sent in the close frame and logged
	final     []byte // a last message written before the close frame
	drain     bool   // write what is queued before the close frame

	// gone says why the read pump ended (set before it returns).
	gone string

	// Rate limit state, read pump only.
	tokens float64
	last   time.Time
}

// attach registers a freshly upgraded connection and starts its pumps. The
// backlog (hello, streams, state, history) is captured under the same lock
// that broadcasts take, so a client misses nothing and sees nothing twice.
func (s *Server) attach(conn *websocket.Conn, remote, role string, session any) {
	s.mu.Lock()
	s.nextID++
	id := fmt.Sprintf("c%d", s.nextID)
	s.mu.Unlock()

	hello, err := encodeHello(id, role, max(s.cfg.History, 0), session)
	if err != nil {
		s.logf("feed: the hello snapshot cannot be encoded as JSON (sent without it): %v", err)
		hello, _ = encodeHello(id, role, max(s.cfg.History, 0), nil)
	}
	c := &client{
		s:        s,
		id:       id,
		from:     remote + "/" + id,
		role:     role,
		remote:   remote,
		conn:     conn,
		send:     make(chan []byte, s.lim.queue),
		done:     make(chan struct{}),
		readDone: make(chan struct{}),
		tokens:   s.lim.burst,
		last:     time.Now(),
	}
	if role == RoleDisplay {
		c.display = xr.NewDisplay(s.cfg.Headset.Plan, s.cfg.Headset.Session)
		c.tokens = s.lim.displayBurst
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, CloseServerClosing), time.Now().Add(s.lim.closeGrace))
		conn.Close()
		return
	}
	if c.display != nil && s.display != nil {
		s.mu.Unlock()
		s.refuseDisplay(conn, remote)
		return
	}
	var backlog [][]byte
	if c.display != nil {
		backlog = s.displayBacklog(hello)
	} else {
		backlog = make([][]byte, 0, 2+len(s.order)+s.hist.len())
		backlog = append(backlog, hello)
		for _, d := range s.order {
			backlog = append(backlog, s.streams[d])
		}
		if s.state != nil {
			backlog = append(backlog, s.state)
		}
		backlog = s.hist.appendTo(backlog, time.Now(), s.cfg.History, s.lim.backlogBytes)
		if s.summary != nil {
			backlog = append(backlog, s.summary)
		}
	}
	s.clients[c] = true
	back := false
	if c.display != nil {
		s.display = c
		back, s.dspLost = s.dspLost, false
	}
	s.wg.Add(2)
	s.mu.Unlock()
	s.audit(AuditEntry{Event: AuditConnect, Client: id, Remote: remote, Role: role, OK: true})
	if back {
		s.displayAlert(xr.Back())
	}

	go c.writePump(backlog)
	go c.readPump()
}

// enqueue hands msg to the write pump without blocking. A full queue drops
// the client: better a reconnect with history than a stalled pipeline.
func (c *client) enqueue(msg []byte) {
	select {
	case <-c.done:
		return
	default:
	}
	select {
	case c.send <- msg:
	default:
		c.kill(websocket.ClosePolicyViolation, "too slow: send queue full", nil, true)
	}
}

// offer queues msg only if the client is keeping up, and drops it otherwise:
// for the patient view, where a newer picture soon replaces this one.
func (c *client) offer(msg []byte) {
	if len(c.send) > cap(c.send)/2 {
		return
	}
	select {
	case c.send <- msg:
	default:
	}
}

// kill ends the client once. hard closes the connection at once, for a
// peer that is not reading; otherwise the write pump says goodbye (final
// message, close frame) and gives the peer closeGrace to answer.
func (c *client) kill(code int, text string, final []byte, hard bool) {
	c.once.Do(func() {
		c.closeCode, c.closeText, c.final = code, text, final
		close(c.done)
		if hard {
			c.conn.Close()
		}
	})
}

// killDrain ends the client once, after the write pump has written what
// was queued for it (the last events, the state, an ack): a goodbye, not a
// drop.
func (c *client) killDrain(code int, text string) {
	c.once.Do(func() {
		c.closeCode, c.closeText, c.drain = code, text, true
		close(c.done)
	})
}

// flushQueue writes what is queued, within one write deadline for all.
func (c *client) flushQueue() {
	_ = c.conn.SetWriteDeadline(time.Now().Add(c.s.lim.writeWait))
	for {
		select {
		case msg := <-c.send:
			if c.conn.WriteMessage(websocket.TextMessage, msg) != nil {
				return
			}
		default:
			return
		}
	}
}

// writePump is the connection's only writer.
func (c *client) writePump(backlog [][]byte) {
	defer c.s.wg.Done()
	ping := time.NewTicker(c.s.lim.pingPeriod)
	defer ping.Stop()
	defer c.hangUp()

	for _, msg := range backlog {
		select {
		case <-c.done:
			if c.drain {
				break // a goodbye: the backlog first, then the queue
			}
			return
		default:
		}
		if !c.write(msg) {
			return
		}
	}
	for {
		select {
		case <-c.done:
			if c.drain {
				c.flushQueue()
			}
			return
		case msg := <-c.send:
			if !c.write(msg) {
				return
			}
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.s.lim.writeWait)); err != nil {
				c.kill(0, "ping failed: "+err.Error(), nil, true)
				return
			}
		}
	}
}

// write sends one message within the write deadline; a client that cannot
// take it in time is dropped.
func (c *client) write(msg []byte) bool {
	_ = c.conn.SetWriteDeadline(time.Now().Add(c.s.lim.writeWait))
	err := c.conn.WriteMessage(websocket.TextMessage, msg)
	if err == nil {
		return true
	}
	// gorilla hides the deadline error behind its own net.Error.
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		c.kill(websocket.ClosePolicyViolation, fmt.Sprintf("too slow: a write took longer than %v", c.s.lim.writeWait), nil, true)
	} else {
		c.kill(0, "write failed: "+err.Error(), nil, true)
	}
	return false
}

// hangUp ends the connection: goodbye if there is still someone to hear
// it, then wait briefly for the read pump so unread input does not turn
// the close into a reset that could swallow the goodbye.
func (c *client) hangUp() {
	c.kill(websocket.CloseGoingAway, CloseServerClosing, nil, false) // no-op if already killed
	if c.closeCode != 0 {
		deadline := time.Now().Add(c.s.lim.closeGrace)
		ok := true
		if c.final != nil {
			_ = c.conn.SetWriteDeadline(deadline)
			ok = c.conn.WriteMessage(websocket.TextMessage, c.final) == nil
		}
		if ok {
			_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(c.closeCode, c.closeText), deadline)
		}
	}
	if c.closeCode == websocket.ClosePolicyViolation || c.closeCode == websocket.CloseMessageTooBig {
		c.s.logf("feed: dropped dashboard %s: %s", c.from, c.closeText)
	}
	t := time.NewTimer(c.s.lim.closeGrace)
	select {
	case <-c.readDone:
	case <-t.C:
	}
	t.Stop()
	c.conn.Close()
}

// readPump reads the client's messages until the connection ends. After
// the client has been killed it keeps draining (ignoring) input until the
// peer's close arrives or the write pump hangs up.
func (c *client) readPump() {
	defer c.s.wg.Done()
	defer close(c.readDone)
	defer c.s.detach(c)
	defer c.kill(0, "", nil, false)

	lim := c.s.lim
	quiet := lim.pongWait
	if c.display != nil {
		quiet = lim.displayQuiet
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(quiet))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(quiet))
	})
	for {
		typ, r, err := c.conn.NextReader()
		if err != nil {
			c.logReadErr(err)
			c.gone = goneReason(err, quiet)
			return
		}
		_ = c.conn.SetReadDeadline(time.Now().Add(quiet))
		data, err := io.ReadAll(io.LimitReader(r, maxMessage+1))
		if err != nil {
			c.logReadErr(err)
			return
		}
		select {
		case <-c.done:
			continue // leaving: drain only
		default:
		}
		c.handle(typ, data)
	}
}

// handle answers one client message: an ack, or an error naming the fault.
func (c *client) handle(typ int, data []byte) {
	if len(data) > maxMessage {
		e := &protoError{Code: codeTooLarge, Msg: fmt.Sprintf("message larger than %d bytes; the connection is closed", maxMessage)}
		c.kill(websocket.CloseMessageTooBig, "message too big", encodeError(e), false)
		return
	}
	now := time.Now()
	rate, burst := c.s.lim.rate, c.s.lim.burst
	if c.display != nil {
		rate, burst = c.s.lim.displayRate, c.s.lim.displayBurst
	}
	c.tokens = min(burst, c.tokens+now.Sub(c.last).Seconds()*rate)
	c.last = now
	if c.tokens < 1 {
		c.enqueue(encodeError(&protoError{Code: codeRateLimited, Msg: fmt.Sprintf("more than %g messages per second; wait and retry", rate)}))
		return
	}
	c.tokens--
	if typ != websocket.TextMessage {
		c.enqueue(encodeError(&protoError{Code: codeBadJSON, Msg: "binary frames are not accepted; send JSON text frames"}))
		return
	}
	if c.display != nil {
		c.handleDisplay(data)
		return
	}
	cmd, perr := parseClientMessage(data)
	if perr != nil {
		c.enqueue(encodeError(perr))
		return
	}
	cmd.From = c.from
	if c.role != RoleControl {
		e := &protoError{Code: codeForbidden, ID: cmd.ID, Msg: "this dashboard is observe-only (opened with the observer link); commands need the therapist's control link"}
		c.s.audit(AuditEntry{Event: AuditCommand, Client: c.id, Remote: c.remote, Role: c.role, Cmd: cmd.Cmd, ID: cmd.ID, Args: cmd.Args, Result: e.Msg})
		c.enqueue(encodeError(e))
		return
	}
	if !c.s.beginCommand() {
		c.enqueue(encodeAck(Ack{ID: cmd.ID, Error: "the session is closing"}))
		return
	}
	defer c.s.endCommand() // after the ack is queued: Close waits for it
	ack := c.s.apply(cmd)
	c.s.audit(AuditEntry{Event: AuditCommand, Client: c.id, Remote: c.remote, Role: c.role, Cmd: cmd.Cmd, ID: cmd.ID, Args: cmd.Args, OK: ack.OK, Result: ack.Error})
	c.enqueue(encodeAck(ack))
}

// apply runs OnCommand or Commands, one command at a time across all
// clients.
func (s *Server) apply(cmd Command) Ack {
	var ack Ack
	switch {
	case s.cfg.OnCommand != nil:
		s.cmdMu.Lock()
		ack = s.cfg.OnCommand(cmd)
		s.cmdMu.Unlock()
	case s.cfg.Commands != nil:
		s.cmdMu.Lock()
		ack = s.runCommand(cmd)
		s.cmdMu.Unlock()
	default:
		return Ack{ID: cmd.ID, Error: "this feed is read-only: commands are not accepted"}
	}
	ack.ID = cmd.ID
	if !ack.OK && ack.Error == "" {
		ack.Error = "not applied"
	}
	return ack
}

// runCommand applies cmd through Config.Commands; an applied command's
// ack carries the state that followed it.
func (s *Server) runCommand(cmd Command) Ack {
	if err := s.cfg.Commands.Apply(cmd); err != nil {
		return Ack{Error: err.Error()}
	}
	ack := Ack{OK: true}
	if s.cfg.State != nil {
		ack.Data = s.cfg.State()
	}
	return ack
}

// goneReason says in words why a connection's reading ended.
func goneReason(err error, quiet time.Duration) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("nothing heard for %v", quiet)
	case websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway):
		return "the page was closed"
	default:
		return "the connection broke: " + err.Error()
	}
}

func (c *client) logReadErr(err error) {
	var ne net.Error
	switch {
	case websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived, websocket.CloseAbnormalClosure):
	case errors.Is(err, net.ErrClosed), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
	case errors.As(err, &ne) && ne.Timeout() && c.display != nil:
		c.s.logf("feed: lost headset %s: no message for %v", c.from, c.s.lim.displayQuiet)
	case errors.As(err, &ne) && ne.Timeout():
		c.s.logf("feed: dropped dashboard %s: no pong or message for %v", c.from, c.s.lim.pongWait)
	default:
		select {
		case <-c.done: // we hung up; errors after that are expected
		default:
			c.s.logf("feed: dashboard %s: %v", c.from, err)
		}
	}
}

// detach forgets a client whose read pump has ended.
func (s *Server) detach(c *client) {
	s.mu.Lock()
	delete(s.clients, c)
	lost := false
	if s.display == c {
		s.display = nil
		// Not when the session is over or the server closing: the
		// headset is let go, not lost.
		lost = !s.closed && !s.ended
		s.dspLost = s.dspLost || lost
	}
	s.mu.Unlock()
	reason := c.closeText
	if reason == "" {
		reason = "the dashboard left"
		if c.display != nil {
			reason = "the headset left"
			if c.gone != "" {
				reason = c.gone
			}
		}
	}
	s.audit(AuditEntry{Event: AuditDisconnect, Client: c.id, Remote: c.remote, Role: c.role, OK: true, Result: reason})
	if lost {
		s.displayAlert(xr.Lost(reason))
	}
}

// numClients counts registered clients (tests, diagnostics).
func (s *Server) numClients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}
