package feed

// Remote applies a command that came from outside the dashboards (the hub
// relaying a supervisor's click) as a control dashboard's: the same
// validation, one command at a time, the audit line and the ack. from says
// who, for the recording and the audit ("hub").
func (s *Server) Remote(from string, msg []byte) []byte {
	cmd, perr := parseClientMessage(msg)
	if perr != nil {
		return encodeError(perr)
	}
	cmd.From = from
	if !s.beginCommand() {
		return encodeAck(Ack{ID: cmd.ID, Error: "the session is closing"})
	}
	defer s.endCommand()
	ack := s.apply(cmd)
	s.audit(AuditEntry{Event: AuditCommand, Remote: from, Role: RoleControl, Cmd: cmd.Cmd, ID: cmd.ID, Args: cmd.Args, OK: ack.OK, Result: ack.Error})
	return encodeAck(ack)
}
