package contec

// Packet is one live-data packet's content.
type Packet struct {
	Pleth    uint8 // pulse waveform, 0..127
	PR       uint8 // pulse rate, bpm (new protocol: 0..127)
	SpO2     uint8 // %, 0..127
	Strength uint8 // signal strength, 0..15
	Bar      uint8 // bar graph, 0..15 (old protocol)
	Wave2    uint8 // new protocol byte 4: a second waveform, meaning uncertain
	Status   uint8 // FingerOut, Searching, PulseBeat, ProbeError, SpO2Dropping
}

// Packet lengths.
const (
	oldLen = 5
	newLen = 9
)

// syncOld checks the old protocol's framing: bit 7 set in byte 0 only.
func syncOld(b []byte) bool {
	return b[0]&0x80 != 0 && (b[1]|b[2]|b[3]|b[4])&0x80 == 0
}

// syncNew checks the new protocol's framing: 01, E0 with the two flag
// bits, and FF FF at the end.
func syncNew(b []byte) bool {
	return b[0] == 0x01 && b[1]&0xFC == 0xE0 && b[7] == 0xFF && b[8] == 0xFF
}

// parseOld decodes a 5-byte packet (framing already checked).
func parseOld(b []byte) Packet {
	p := Packet{Strength: b[0] & 0x0F, Pleth: b[1] & 0x7F, Bar: b[2] & 0x0F,
		PR: (b[2]&0x40)<<1 | b[3]&0x7F, SpO2: b[4] & 0x7F}
	if b[0]&0x10 != 0 {
		p.Status |= FingerOut
	}
	if b[0]&0x20 != 0 {
		p.Status |= SpO2Dropping
	}
	if b[0]&0x40 != 0 {
		p.Status |= PulseBeat
	}
	if b[2]&0x10 != 0 {
		p.Status |= ProbeError
	}
	if b[2]&0x20 != 0 {
		p.Status |= Searching
	}
	return p
}

// appendOld encodes p as a 5-byte packet.
func appendOld(dst []byte, p Packet) []byte {
	b0 := 0x80 | p.Strength&0x0F
	if p.Status&FingerOut != 0 {
		b0 |= 0x10
	}
	if p.Status&SpO2Dropping != 0 {
		b0 |= 0x20
	}
	if p.Status&PulseBeat != 0 {
		b0 |= 0x40
	}
	b2 := p.Bar&0x0F | (p.PR&0x80)>>1
	if p.Status&ProbeError != 0 {
		b2 |= 0x10
	}
	if p.Status&Searching != 0 {
		b2 |= 0x20
	}
	return append(dst, b0, p.Pleth&0x7F, b2, p.PR&0x7F, p.SpO2&0x7F)
}

// parseNew decodes a 9-byte packet (framing already checked).
func parseNew(b []byte) Packet {
	p := Packet{Strength: b[2] & 0x0F, Pleth: b[3] & 0x7F, Wave2: b[4] & 0x7F, PR: b[5] & 0x7F, SpO2: b[6] & 0x7F}
	if b[1]&0x01 != 0 {
		p.Status |= FingerOut
	}
	if b[1]&0x02 != 0 {
		p.Status |= Searching
	}
	if b[2]&0x40 != 0 {
		p.Status |= PulseBeat
	}
	return p
}

// appendNew encodes p as a 9-byte packet, with bit 7 set in bytes 2..6 as
// the units send them.
func appendNew(dst []byte, p Packet) []byte {
	b1 := byte(0xE0)
	if p.Status&FingerOut != 0 {
		b1 |= 0x01
	}
	if p.Status&Searching != 0 {
		b1 |= 0x02
	}
	b2 := 0x80 | p.Strength&0x0F
	if p.Status&PulseBeat != 0 {
		b2 |= 0x40
	}
	return append(dst, 0x01, b1, b2, 0x80|p.Pleth&0x7F, 0x80|p.Wave2&0x7F, 0x80|p.PR&0x7F, 0x80|p.SpO2&0x7F, 0xFF, 0xFF)
}
