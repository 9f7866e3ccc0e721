package shimmer

import (
	"encoding/binary"
	"fmt"
)

// CRC16 is the link CRC the firmware appends to what it sends (low byte
// first; one-byte mode sends only the low byte): initial value 0xB0CA, and
// an odd-length message is processed with one extra zero byte.
func CRC16(b []byte) uint16 {
	crc := uint16(0xB0CA)
	for _, x := range b {
		crc = crcByte(crc, x)
	}
	if len(b)%2 == 1 {
		crc = crcByte(crc, 0)
	}
	return crc
}

func crcByte(crc uint16, b byte) uint16 {
	crc = crc>>8 | crc<<8
	crc ^= uint16(b)
	crc ^= (crc & 0xFF) >> 4
	crc ^= crc << 12
	crc ^= (crc & 0xFF) << 5
	return crc
}

// appendCRC appends the CRC of msg (the bytes from start to the end of dst)
// in the given mode (0, 1 or 2 bytes).
func appendCRC(dst []byte, start, mode int) []byte {
	if mode == 0 {
		return dst
	}
	c := CRC16(dst[start:])
	dst = append(dst, byte(c))
	if mode == 2 {
		dst = append(dst, byte(c>>8))
	}
	return dst
}

// crcOK checks the mode's trailing CRC bytes of msg (payload then CRC).
func crcOK(msg []byte, mode int) bool {
	if mode == 0 {
		return true
	}
	n := len(msg) - mode
	if n < 1 {
		return false
	}
	c := CRC16(msg[:n])
	if msg[n] != byte(c) {
		return false
	}
	return mode == 1 || msg[n+1] == byte(c>>8)
}

// chanSize is the width in bytes of a channel in a data packet, by id
// (LogAndStream's channel list; 0 = unknown).
func chanSize(id byte) int {
	switch {
	case id <= 0x19, id == 0x1A: // analog inputs, IMU axes, BMP temperature
		return 2
	case id == 0x1B: // BMP pressure
		return 3
	case id == 0x1D, id == 0x20: // ExG status
		return 1
	case id == 0x1E, id == 0x1F, id == 0x21, id == 0x22: // ExG 24-bit
		return 3
	case id == 0x1C, id >= 0x23 && id <= 0x28: // GSR, ExG 16-bit, strain
		return 2
	}
	return 0
}

// maxChans bounds the channels of one packet (the firmware has ~40 ids).
const maxChans = 48

// layout is where things are in a data packet: header, 3-byte timestamp,
// then the channels in inquiry order.
type layout struct {
	n      int
	ids    [maxChans]byte
	size   int // bytes without CRC
	gsr    int // offset of the GSR field, -1 if absent
	ppg    int // offset of the A13 field, -1 if absent
	hasAll bool
}

func newLayout(ids []byte) (layout, error) {
	if len(ids) > maxChans {
		return layout{}, fmt.Errorf("shimmer: %d channels enabled: at most %d are supported", len(ids), maxChans)
	}
	l := layout{n: len(ids), size: 4, gsr: -1, ppg: -1}
	copy(l.ids[:], ids)
	for _, id := range ids {
		w := chanSize(id)
		if w == 0 {
			return layout{}, fmt.Errorf("shimmer: the device reports channel id %#02x, which this driver does not know: "+
				"disable that sensor (Consensys or another tool) and retry", id)
		}
		switch id {
		case chanGSR:
			l.gsr = l.size
		case chanA13:
			l.ppg = l.size
		}
		l.size += w
	}
	l.hasAll = l.gsr >= 0 && l.ppg >= 0
	return l, nil
}

// ts24 reads the packet's 24-bit little-endian timestamp.
func ts24(b []byte) uint32 { return uint32(b[1]) | uint32(b[2])<<8 | uint32(b[3])<<16 }

// Packet is one data packet's raw content (before unit conversion).
type Packet struct {
	Timestamp uint32 // 24-bit device clock, 32768 Hz ticks
	GSR       uint16 // raw GSR field: 12-bit ADC, range in bits 15..14
	PPG       uint16 // raw A13 field: 12-bit ADC
}

// appendPacket encodes p with the layout l (other channels read 0) and the
// CRC mode's trailer.
func appendPacket(dst []byte, l *layout, p Packet, crc int) []byte {
	start := len(dst)
	dst = append(dst, dataPacket, byte(p.Timestamp), byte(p.Timestamp>>8), byte(p.Timestamp>>16))
	for i := range l.n {
		id := l.ids[i]
		switch id {
		case chanGSR:
			dst = binary.LittleEndian.AppendUint16(dst, p.GSR)
		case chanA13:
			dst = binary.LittleEndian.AppendUint16(dst, p.PPG)
		case chanVBatt:
			dst = binary.LittleEndian.AppendUint16(dst, 2600) // ≈3.8 V on the divider
		default:
			for range chanSize(id) {
				dst = append(dst, 0)
			}
		}
	}
	return appendCRC(dst, start, crc)
}

// parsePacket reads the raw fields of a packet already checked.
func parsePacket(b []byte, l *layout) Packet {
	p := Packet{Timestamp: ts24(b)}
	if l.gsr >= 0 {
		p.GSR = binary.LittleEndian.Uint16(b[l.gsr:])
	}
	if l.ppg >= 0 {
		p.PPG = binary.LittleEndian.Uint16(b[l.ppg:])
	}
	return p
}
