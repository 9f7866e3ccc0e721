package bitalino

import "fmt"

// MaxAnalog is the number of analog inputs (A1..A6).
const MaxAnalog = 6

// Frame is one decoded BITalino frame before unit conversion.
type Frame struct {
	Seq     uint8             // 4-bit sequence number, 0..15
	Digital uint8             // I1 I2 O1 O2 as bits 3..0
	N       int               // number of selected channels, 1..6
	ADC     [MaxAnalog]uint16 // ADC[k] is the k-th selected channel, ascending
}

// frameLens[n] is the frame size in bytes for n selected channels.
var frameLens = [MaxAnalog + 1]int{0, 3, 4, 6, 7, 8, 8}

// FrameLen returns the frame size for n selected channels (0 if n is out of range).
func FrameLen(n int) int {
	if n < 1 || n > MaxAnalog {
		return 0
	}
	return frameLens[n]
}

// fieldBits returns the width of the k-th value in a frame: the frame only
// has room for 6 bits in the fifth and sixth positions (A5/A6 when five or
// six channels are selected).
func fieldBits(k int) uint {
	if k >= 4 {
		return 6
	}
	return 10
}

// crcTab[c] is c·x⁴ mod x⁴+x+1: feeding one nibble is crcTab[c] ^ nibble.
var crcTab = [16]uint8{0, 3, 6, 5, 12, 15, 10, 9, 11, 8, 13, 14, 7, 4, 1, 2}

// crc4 computes the frame CRC over b with the last byte's CRC nibble taken as 0.
func crc4(b []byte) uint8 {
	var c uint8
	last := len(b) - 1
	for i := 0; i < last; i++ {
		c = crcTab[c] ^ b[i]>>4
		c = crcTab[c] ^ b[i]&0x0F
	}
	c = crcTab[c] ^ b[last]>>4
	return crcTab[c] // low nibble fed as 0
}

// crcOK reports whether b (exactly one frame) carries a valid CRC.
func crcOK(b []byte) bool { return crc4(b) == b[len(b)-1]&0x0F }

// AppendFrame appends f encoded as a BITalino frame (with its CRC) to dst.
// Values wider than their field are truncated to the field's low bits.
func AppendFrame(dst []byte, f Frame) ([]byte, error) {
	L := FrameLen(f.N)
	if L == 0 {
		return dst, fmt.Errorf("bitalino: cannot encode a frame with %d channels (1..%d)", f.N, MaxAnalog)
	}
	start := len(dst)
	for range L {
		dst = append(dst, 0)
	}
	b := dst[start:]
	var a [MaxAnalog]uint16
	for k := 0; k < f.N; k++ {
		a[k] = f.ADC[k] & (1<<fieldBits(k) - 1)
	}
	// Fields are laid out from the end of the frame; bits of absent
	// channels stay zero. Writes past the frame start are skipped.
	put := func(i int, v uint8) {
		if j := L - i; j >= 0 {
			b[j] |= v
		}
	}
	put(2, f.Digital<<4|uint8(a[0]>>6))
	put(3, uint8(a[0]<<2)|uint8(a[1]>>8))
	put(4, uint8(a[1]))
	put(5, uint8(a[2]>>2))
	put(6, uint8(a[2]<<6)|uint8(a[3]>>4))
	put(7, uint8(a[3]<<4)|uint8(a[4]>>2))
	put(8, uint8(a[4]<<6)|uint8(a[5]))
	b[L-1] = f.Seq << 4
	b[L-1] |= crc4(b)
	return dst, nil
}

// parseFrame decodes a frame whose CRC has already been checked; b holds
// exactly FrameLen(n) bytes.
func parseFrame(b []byte, n int) Frame {
	L := len(b)
	at := func(i int) uint16 { // b[-i], zero before the frame start
		if j := L - i; j >= 0 {
			return uint16(b[j])
		}
		return 0
	}
	f := Frame{Seq: b[L-1] >> 4, Digital: b[L-2] >> 4, N: n}
	f.ADC[0] = (at(2)&0x0F)<<6 | at(3)>>2
	if n > 1 {
		f.ADC[1] = (at(3)&0x03)<<8 | at(4)
	}
	if n > 2 {
		f.ADC[2] = at(5)<<2 | at(6)>>6
	}
	if n > 3 {
		f.ADC[3] = (at(6)&0x3F)<<4 | at(7)>>4
	}
	if n > 4 {
		f.ADC[4] = (at(7)&0x0F)<<2 | at(8)>>6
	}
	if n > 5 {
		f.ADC[5] = at(8) & 0x3F
	}
	return f
}

// ParseFrame decodes one frame of n channels, checking its length and CRC.
func ParseFrame(b []byte, n int) (Frame, error) {
	L := FrameLen(n)
	if L == 0 {
		return Frame{}, fmt.Errorf("bitalino: %d channels is not a valid selection (1..%d)", n, MaxAnalog)
	}
	if len(b) != L {
		return Frame{}, fmt.Errorf("bitalino: a %d-channel frame is %d bytes, got %d", n, L, len(b))
	}
	if got, want := b[L-1]&0x0F, crc4(b); got != want {
		return Frame{}, fmt.Errorf("bitalino: frame % x: CRC nibble is %#x, computed %#x (corrupt or misaligned frame)", b, got, want)
	}
	return parseFrame(b, n), nil
}
