package main

import (
	"encoding/binary"
	"fmt"
	"math"
)

// sampleRate is the rate of the synthesised sounds; speech keeps espeak-ng's.
const sampleRate = 44100

// encodeWAV writes mono 16-bit PCM. Samples are clipped to -1..1.
func encodeWAV(s []float64, rate int) []byte {
	n := len(s) * 2
	b := make([]byte, 44+n)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1) // PCM
	binary.LittleEndian.PutUint16(b[22:], 1) // mono
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	binary.LittleEndian.PutUint32(b[28:], uint32(rate*2))
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(n))
	for i, v := range s {
		q := int16(math.Round(clamp(v, -1, 1) * 32767))
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(q))
	}
	return b
}

// decodeWAV reads the mono 16-bit PCM that espeak-ng writes. It tolerates a
// data chunk whose size was never filled in (as when writing to a pipe) by
// reading to the end of the file.
func decodeWAV(b []byte) (s []float64, rate int, err error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("not a WAV file: no RIFF/WAVE header at byte 0")
	}
	var haveFmt bool
	for off := 12; off+8 <= len(b); {
		id := string(b[off : off+4])
		size := int64(binary.LittleEndian.Uint32(b[off+4:]))
		body := off + 8
		end := int64(body) + size
		switch id {
		case "fmt ":
			if size < 16 || end > int64(len(b)) {
				return nil, 0, fmt.Errorf("fmt chunk at byte %d is %d bytes, want at least 16", off, size)
			}
			format := binary.LittleEndian.Uint16(b[body:])
			channels := binary.LittleEndian.Uint16(b[body+2:])
			rate = int(binary.LittleEndian.Uint32(b[body+4:]))
			bits := binary.LittleEndian.Uint16(b[body+14:])
			if format != 1 || channels != 1 || bits != 16 {
				return nil, 0, fmt.Errorf("fmt chunk at byte %d: format %d, %d channels, %d bits; want PCM (1), mono, 16 bits", off, format, channels, bits)
			}
			if rate < 8000 || rate > 192000 {
				return nil, 0, fmt.Errorf("fmt chunk at byte %d: sample rate %d Hz is outside 8000..192000", off, rate)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, 0, fmt.Errorf("data chunk at byte %d comes before the fmt chunk", off)
			}
			if end > int64(len(b)) {
				end = int64(len(b))
			}
			data := b[body:end]
			s = make([]float64, len(data)/2)
			for i := range s {
				s[i] = float64(int16(binary.LittleEndian.Uint16(data[2*i:]))) / 32768
			}
			return s, rate, nil
		}
		if end > int64(len(b)) {
			break
		}
		off = int(end + end&1) // chunks are padded to even sizes
	}
	return nil, 0, fmt.Errorf("no data chunk in %d bytes", len(b))
}
