package video

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
)

// The probe walks the whole program stream once at Open, before any decoder
// sees it. gen2brain/mpeg resynchronises silently on damage and may panic on
// some of it, so a truncated, foreign or MPEG-2 file would otherwise show up
// as garbage or a frozen picture in the middle of a session. Walking packet
// lengths costs a pass over the bytes and catches all of those at load,
// naming the byte where things went wrong.

// maxPixels bounds a picture, so a hostile or absurd file cannot cost
// unbounded memory: the decoder holds three YCbCr frames and the player a
// few RGBA ones of this size, about 90 MB at most. (A variable only so the
// fuzz test can make each input cheap.)
var maxPixels = 1920 * 1088

// headLimit is how much of the video stream must hold its first sequence
// header and picture.
const headLimit = 64 << 10

// reencode is the fix for every file this player cannot read.
const reencode = "re-encode it with: ffmpeg -i INPUT -c:v mpeg1video -q:v 4 -c:a mp2 -b:a 192k -ar 48000 -f mpeg OUTPUT.mpg"

// MPEG start codes (the byte after 00 00 01).
const (
	codePicture  = 0x00
	codeSequence = 0xB3
	codeExtend   = 0xB5
	codeEnd      = 0xB9
	codePack     = 0xBA
	codeSystem   = 0xBB
	codePrivate1 = 0xBD
	codeAudio0   = 0xC0
	codeVideo0   = 0xE0
)

// videoRates are the MPEG-1 picture rates by frame_rate_code; 0 is invalid.
var videoRates = [16]float64{0, 24000.0 / 1001, 24, 25, 30000.0 / 1001, 30, 50, 60000.0 / 1001, 60}

// mp2Rates are the MPEG-1 audio sample rates by sampling_frequency index.
var mp2Rates = [4]int{44100, 48000, 32000, 0}

// info is what the probe learns about a file.
type info struct {
	width, height int
	fps           float64
	frames        int // pictures in the video stream
	audio         bool
	audioRate     int
	// audioLead is how much later the sound starts than the first picture
	// (negative: earlier), from the streams' first timestamps.
	audioLead time.Duration
}

// probe reads a whole MPEG-1 program stream from r and checks that the
// player can decode it. Errors say what is wrong, at which byte, and how to
// fix the file; they do not name the file (Open adds that).
func probe(r io.Reader) (*info, error) {
	p := &prober{r: bufio.NewReaderSize(r, 64<<10), payload: make([]byte, 0xFFFF)}
	if err := p.walk(); err != nil {
		return nil, err
	}
	return p.check()
}

type prober struct {
	r       *bufio.Reader
	off     int64 // bytes consumed
	payload []byte

	packs, sysVideo, sysAudio int
	sysHeader                 bool

	videoPackets, otherVideo int
	videoHead                []byte // the first headLimit bytes of the video stream
	scan                     startScan
	pictures                 int
	mpeg2Video               bool
	videoPTS                 float64 // earliest PTS near the start, -1 if none
	firstVideoPTS            float64

	audioPackets, otherAudio, private int
	audioHead                         []byte
	audioPTS                          float64
}

// errTruncated marks a file that ends inside a packet.
var errTruncated = errors.New("truncated")

func (p *prober) read(n int) ([]byte, error) {
	b := p.payload[:n]
	k, err := io.ReadFull(p.r, b)
	p.off += int64(k)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return nil, errTruncated
	}
	return b, err
}

// next returns the next start code, -1 at a clean end of file. Zero bytes
// between packets are allowed (some muxers pad with them); anything else
// means the packet before was damaged or its length is wrong.
func (p *prober) next() (int, error) {
	for {
		b, err := p.r.Peek(4)
		if len(b) < 4 {
			if err != nil && err != io.EOF {
				return 0, err
			}
			if p.off == 0 && len(b) > 0 {
				return 0, notMPEG(p.r)
			}
			p.r.Discard(len(b))
			p.off += int64(len(b))
			if !bytes.Equal(b, make([]byte, len(b))) {
				return 0, errTruncated
			}
			return -1, nil
		}
		if b[0] == 0 && b[1] == 0 && b[2] == 1 {
			code := int(b[3])
			p.r.Discard(4)
			p.off += 4
			return code, nil
		}
		if p.off == 0 {
			return 0, notMPEG(p.r)
		}
		if b[0] != 0 {
			return 0, fmt.Errorf("byte %d: expected the start of a packet (00 00 01), found % x: the file is damaged: %s", p.off, b, reencode)
		}
		p.r.Discard(1)
		p.off++
	}
}

// notMPEG names a few containers people are likely to try.
func notMPEG(r *bufio.Reader) error {
	b, _ := r.Peek(12)
	var what string
	switch {
	case len(b) >= 4 && b[0] == 0x1A && b[1] == 0x45 && b[2] == 0xDF && b[3] == 0xA3:
		what = "a Matroska/WebM file"
	case len(b) >= 4 && string(b[:4]) == "RIFF":
		what = "a RIFF (AVI or WAV) file"
	case len(b) >= 1 && b[0] == 0x47:
		what = "probably an MPEG transport stream (.ts)"
	case len(b) >= 8 && string(b[4:8]) == "ftyp":
		what = "an MP4/MOV file"
	case len(b) >= 3 && string(b[:3]) == "FLV":
		what = "an FLV file"
	case bytes.Count(b, []byte{0}) == len(b):
		what = "damaged: it starts with zero bytes"
	default:
		what = "not an MPEG program stream"
	}
	return fmt.Errorf("%s (it starts with % x, not an MPEG pack header 00 00 01 BA): %s", what, b, reencode)
}

func (p *prober) walk() error {
	p.videoPTS, p.firstVideoPTS, p.audioPTS = -1, -1, -1
	for {
		at := p.off
		code, err := p.next()
		if errors.Is(err, errTruncated) {
			return p.truncated(at, "a start code")
		}
		if err != nil {
			return err
		}
		switch {
		case code == -1:
			if p.off == 0 {
				return fmt.Errorf("the file is empty: %s", reencode)
			}
			return nil
		case code == codeEnd:
			return nil
		case code == codePack:
			if err := p.pack(at); err != nil {
				return err
			}
		case code > codePack:
			if p.packs == 0 {
				return fmt.Errorf("byte %d: packet 0x%02X before the first pack header: not an MPEG program stream: %s", at, code, reencode)
			}
			lb, err := p.read(2)
			if err != nil {
				return p.truncated(at, "a packet length")
			}
			n := int(lb[0])<<8 | int(lb[1])
			body, err := p.read(n)
			if err != nil {
				return p.truncated(at, fmt.Sprintf("a %d-byte packet", n))
			}
			if err := p.packet(at, code, body); err != nil {
				return err
			}
		case code == codeSequence && at == 0:
			return fmt.Errorf("this is a bare MPEG video stream (.m1v) with no program stream around it: mux it with ffmpeg -i INPUT -c copy -f mpeg OUTPUT.mpg, or %s", reencode)
		default:
			return fmt.Errorf("byte %d: unexpected start code 0x%02X outside a packet: the file is damaged: %s", at, code, reencode)
		}
	}
}

func (p *prober) truncated(at int64, what string) error {
	return fmt.Errorf("truncated: the file ends at byte %d, inside %s that starts at byte %d: copy the whole file again or %s", p.off, what, at, reencode)
}

func (p *prober) pack(at int64) error {
	b, err := p.r.Peek(1)
	if err != nil {
		return p.truncated(at, "a pack header")
	}
	switch {
	case b[0]>>4 == 0x2: // MPEG-1: '0010' SCR and mux rate, 8 bytes
		if _, err := p.read(8); err != nil {
			return p.truncated(at, "a pack header")
		}
	case b[0]>>6 == 0x1:
		return fmt.Errorf("byte %d: this is an MPEG-2 program stream (as on DVDs, or ffmpeg -f vob/dvd); the player reads MPEG-1 only: %s", at, reencode)
	default:
		return fmt.Errorf("byte %d: damaged pack header (% x): %s", at, b, reencode)
	}
	p.packs++
	return nil
}

func (p *prober) packet(at int64, code int, body []byte) error {
	switch {
	case code == codeSystem:
		if p.sysHeader {
			return nil
		}
		if len(body) < 6 {
			return fmt.Errorf("byte %d: system header of %d bytes is too short: %s", at, len(body), reencode)
		}
		p.sysHeader = true
		p.sysAudio = int(body[3] >> 2)
		p.sysVideo = int(body[4] & 0x1F)
		return nil
	case code == codeVideo0, code == codeAudio0, code == codePrivate1,
		code > codeAudio0 && code <= 0xEF:
	default:
		return nil // padding, private stream 2, maps: nothing to play
	}
	es, pts, err := pesPayload(body)
	if err != nil {
		return fmt.Errorf("byte %d: %v: %s", at, err, reencode)
	}
	switch {
	case code == codeVideo0:
		p.videoPackets++
		if pts >= 0 {
			if p.firstVideoPTS < 0 {
				p.firstVideoPTS = pts
			}
			// With B-pictures the first picture shown is not the first
			// sent: take the earliest timestamp of the first second.
			if pts < p.firstVideoPTS+1 && (p.videoPTS < 0 || pts < p.videoPTS) {
				p.videoPTS = pts
			}
		}
		if len(p.videoHead) < headLimit {
			p.videoHead = append(p.videoHead, es[:min(len(es), headLimit-len(p.videoHead))]...)
		}
		p.scan.feed(es, func(c byte) {
			switch c {
			case codePicture:
				p.pictures++
			case codeExtend:
				p.mpeg2Video = true
			}
		})
	case code == codeAudio0:
		p.audioPackets++
		if p.audioPTS < 0 && pts >= 0 {
			p.audioPTS = pts
		}
		if len(p.audioHead) < 4096 {
			p.audioHead = append(p.audioHead, es[:min(len(es), 4096-len(p.audioHead))]...)
		}
	case code == codePrivate1:
		p.private++
	case code >= 0xE0:
		p.otherVideo++
	default:
		p.otherAudio++
	}
	return nil
}

// pesPayload strips an MPEG-1 packet header, returning the elementary
// stream bytes and the presentation time in seconds (-1 if none).
func pesPayload(b []byte) ([]byte, float64, error) {
	i := 0
	for i < len(b) && i < 16 && b[i] == 0xFF { // stuffing
		i++
	}
	if i < len(b) && b[i]&0xC0 == 0x40 { // STD buffer size
		i += 2
	}
	if i >= len(b) {
		return nil, -1, fmt.Errorf("packet header runs past the packet's end")
	}
	pts := -1.0
	switch {
	case b[i]&0xF0 == 0x20, b[i]&0xF0 == 0x30:
		n := 5
		if b[i]&0xF0 == 0x30 {
			n = 10 // PTS and DTS
		}
		if i+n > len(b) {
			return nil, -1, fmt.Errorf("packet timestamp runs past the packet's end")
		}
		c := b[i:]
		v := int64(c[0]>>1&7)<<30 | int64(c[1])<<22 | int64(c[2]>>1)<<15 | int64(c[3])<<7 | int64(c[4]>>1)
		pts = float64(v) / 90000
		i += n
	case b[i] == 0x0F:
		i++
	case b[i]&0xC0 == 0x80:
		return nil, -1, fmt.Errorf("MPEG-2 packet header: this is an MPEG-2 program stream; the player reads MPEG-1 only")
	default:
		return nil, -1, fmt.Errorf("damaged packet header (byte % x)", b[i])
	}
	return b[i:], pts, nil
}

func (p *prober) check() (*info, error) {
	if !p.sysHeader {
		return nil, fmt.Errorf("no system header (00 00 01 BB) in the program stream, so the decoder cannot find its streams: %s", reencode)
	}
	if p.videoPackets == 0 || p.sysVideo == 0 {
		if p.otherVideo > 0 {
			return nil, fmt.Errorf("the video is not stream 0xE0, the only one the player reads: %s", reencode)
		}
		return nil, fmt.Errorf("the file has no video stream (is it a sound file? use a sound cue instead), or %s", reencode)
	}
	if p.mpeg2Video {
		return nil, fmt.Errorf("the video is MPEG-2; the player decodes MPEG-1 only: %s", reencode)
	}
	h := p.videoHead
	at := bytes.Index(h, []byte{0, 0, 1, codeSequence})
	if at < 0 || at+12 > len(h) {
		return nil, fmt.Errorf("no MPEG-1 sequence header in the first %d KB of the video stream: %s", headLimit>>10, reencode)
	}
	s := h[at+4:]
	in := &info{
		width:  int(s[0])<<4 | int(s[1])>>4,
		height: int(s[1]&0xF)<<8 | int(s[2]),
		fps:    videoRates[s[3]&0xF],
		frames: p.pictures,
	}
	if in.width == 0 || in.height == 0 {
		return nil, fmt.Errorf("the sequence header gives a picture of %d×%d: %s", in.width, in.height, reencode)
	}
	if in.width*in.height > maxPixels {
		return nil, fmt.Errorf("the picture is %d×%d, more than the %d pixels the player decodes in time: scale it down, e.g. ffmpeg -i INPUT -vf scale=1280:-2 -c:v mpeg1video -q:v 4 -c:a mp2 -b:a 192k -ar 48000 -f mpeg OUTPUT.mpg", in.width, in.height, maxPixels)
	}
	if in.fps == 0 {
		return nil, fmt.Errorf("the sequence header has an invalid frame rate code %d: %s", s[3]&0xF, reencode)
	}
	pic := bytes.Index(h[at:], []byte{0, 0, 1, codePicture})
	if pic < 0 || at+pic+6 > len(h) {
		return nil, fmt.Errorf("no picture in the first %d KB of the video stream: %s", headLimit>>10, reencode)
	}
	if typ := h[at+pic+5] >> 3 & 7; typ != 1 {
		return nil, fmt.Errorf("the video does not start with a key frame (its first picture is of type %d, not I): it was cut from a longer stream: %s", typ, reencode)
	}
	if p.audioPackets == 0 {
		switch {
		case p.private > 0:
			return nil, fmt.Errorf("the sound is in a private stream (AC-3, DTS or PCM, as on DVDs); the player plays MP2 only: %s, or drop the sound with -an", reencode)
		case p.otherAudio > 0:
			return nil, fmt.Errorf("the sound is not audio stream 0xC0, the only one the player reads: %s", reencode)
		}
		return in, nil
	}
	rate, err := mp2Header(p.audioHead)
	if err != nil {
		return nil, fmt.Errorf("%v: %s, or drop the sound with -an", err, reencode)
	}
	in.audio, in.audioRate = true, rate
	if p.audioPTS >= 0 && p.videoPTS >= 0 {
		lead := time.Duration((p.audioPTS - p.videoPTS) * float64(time.Second))
		// Timestamps further apart than this are a muxer's oddity, not a
		// lip-sync offset: play the streams from their starts.
		if lead > -2*time.Second && lead < 2*time.Second {
			in.audioLead = lead
		}
	}
	return in, nil
}

// mp2Header finds the first audio frame header and checks that it is MPEG-1
// Layer II, the one kind of sound the decoder plays.
func mp2Header(b []byte) (rate int, err error) {
	i := 0
	for i+4 <= len(b) && !(b[i] == 0xFF && b[i+1]&0xE0 == 0xE0) {
		i++
	}
	if i+4 > len(b) {
		return 0, fmt.Errorf("no audio frame header in the first %d bytes of the sound", len(b))
	}
	h := b[i : i+4]
	version, layer := h[1]>>3&3, h[1]>>1&3
	switch {
	case layer == 1:
		return 0, fmt.Errorf("the sound is MP3 (MPEG audio layer III); the player plays MP2 (layer II) only")
	case layer == 3:
		return 0, fmt.Errorf("the sound is MPEG audio layer I; the player plays MP2 (layer II) only")
	case layer == 0:
		return 0, fmt.Errorf("the sound's frame header is damaged (layer 0)")
	case version != 3:
		return 0, fmt.Errorf("the sound is MPEG-2 low-sample-rate audio (16, 22.05 or 24 kHz); the player plays 32, 44.1 or 48 kHz")
	}
	if br := h[2] >> 4; br == 0 || br == 15 {
		return 0, fmt.Errorf("the sound uses a free-format or invalid bit rate (index %d)", br)
	}
	rate = mp2Rates[h[2]>>2&3]
	if rate == 0 {
		return 0, fmt.Errorf("the sound's frame header has an invalid sample rate")
	}
	return rate, nil
}

// startScan finds start codes in a byte stream fed in pieces, including
// codes split across pieces.
type startScan struct {
	tail [3]byte
	n    int // valid bytes in tail
}

func (s *startScan) feed(p []byte, on func(code byte)) {
	// Codes that begin in the previous piece's last bytes.
	var w [6]byte
	k := copy(w[:], s.tail[:s.n])
	k += copy(w[k:], p[:min(len(p), 3)])
	for i := 0; i < s.n && i+3 < k; i++ {
		if w[i] == 0 && w[i+1] == 0 && w[i+2] == 1 {
			on(w[i+3])
		}
	}
	for i := 0; ; {
		j := bytes.Index(p[i:], []byte{0, 0, 1})
		if j < 0 || i+j+3 >= len(p) {
			break
		}
		on(p[i+j+3])
		i += j + 3
	}
	// Keep the last three bytes seen.
	if len(p) >= 3 {
		s.n = copy(s.tail[:], p[len(p)-3:])
		return
	}
	all := append(s.tail[:s.n:s.n], p...)
	s.n = copy(s.tail[:], all[max(0, len(all)-3):])
}
