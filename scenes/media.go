package scenes

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"path"
	"strings"
)

// Media files come from whoever wrote the protocol, so every reader here
// treats them as untrusted: lengths are checked against the file size before
// anything is allocated, and third-party decoders only see files whose
// structure was checked first (and run under recover as a last guard).

// Limits on pictures: the renderer has to hold them as textures.
const (
	minImageSide = 16
	maxImageSide = 16384
	// Most pixels one byte of file can hold: deflate packs at most ~1032:1
	// and PNG has 1-bit pixels; a JPEG block costs at least 1 bit per 64
	// pixels. A header claiming more is lying, and decoding it would only
	// allocate a huge picture for nothing.
	pngPixelsPerByte  = 10000
	jpegPixelsPerByte = 1024
)

// maxImagePixels is the largest picture: a full-resolution 360° panorama.
// A variable only so the fuzz test can keep allocations small.
var maxImagePixels int64 = 16384 * 8192

// Names of file formats as sniffed from their first bytes.
const (
	fmtPNG  = "png"
	fmtJPEG = "jpeg"
	fmtWAV  = "wav"
	fmtMP3  = "mp3"
	fmtOgg  = "ogg"
	fmtFLAC = "flac"
	fmtID3  = "id3" // an ID3 tag: MP3 usually, FLAC sometimes (refused there)
)

// formatNames says what a sniffed format is, in words for the message.
var formatNames = map[string]string{
	fmtPNG: "a PNG picture", fmtJPEG: "a JPEG picture", "gif": "a GIF picture", "webp": "a WebP picture",
	"bmp": "a BMP picture", "tiff": "a TIFF picture", "heic": "a HEIC photo (the iPhone photo format)",
	"avif": "an AVIF picture", fmtWAV: "a WAV sound", fmtMP3: "an MP3 sound", fmtOgg: "an Ogg sound",
	fmtFLAC: "a FLAC sound", "m4a": "an M4A/AAC sound", "aiff": "an AIFF sound", "wma": "a WMA sound",
	"mp4": "a video (MP4/MOV)", "pdf": "a PDF document", "zip": "a ZIP archive or Office document",
}

// extFormats maps the extensions a protocol may use to the format expected.
var extFormats = map[string]string{
	".png": fmtPNG, ".jpg": fmtJPEG, ".jpeg": fmtJPEG,
	".wav": fmtWAV, ".mp3": fmtMP3, ".ogg": fmtOgg, ".flac": fmtFLAC,
}

var formatExts = map[string]string{fmtPNG: ".png", fmtJPEG: ".jpg", fmtWAV: ".wav", fmtMP3: ".mp3", fmtOgg: ".ogg", fmtFLAC: ".flac"}

func isPicture(f string) bool { return strings.HasSuffix(formatNames[f], "picture") || f == "heic" }

// sniff names the format of a file from its first bytes, or "".
func sniff(b []byte) string {
	has := func(off int, s string) bool { return len(b) >= off+len(s) && string(b[off:off+len(s)]) == s }
	switch {
	case has(0, "\x89PNG\r\n\x1a\n"):
		return fmtPNG
	case has(0, "\xff\xd8\xff"):
		return fmtJPEG
	case has(0, "GIF87a"), has(0, "GIF89a"):
		return "gif"
	case has(0, "RIFF") && has(8, "WEBP"):
		return "webp"
	case has(0, "RIFF") && has(8, "WAVE"), has(0, "RIFX") && has(8, "WAVE"):
		return fmtWAV
	case has(0, "II*\x00"), has(0, "MM\x00*"):
		return "tiff"
	case has(0, "BM") && len(b) >= 14:
		return "bmp"
	case has(4, "ftyp"):
		switch {
		case has(8, "heic"), has(8, "heix"), has(8, "mif1"), has(8, "msf1"), has(8, "hevc"):
			return "heic"
		case has(8, "avif"):
			return "avif"
		case has(8, "M4A "), has(8, "M4B "):
			return "m4a"
		}
		return "mp4"
	case has(0, "OggS"):
		return fmtOgg
	case has(0, "fLaC"):
		return fmtFLAC
	case has(0, "ID3"):
		return fmtID3
	case has(0, "FORM") && (has(8, "AIFF") || has(8, "AIFC")):
		return "aiff"
	case has(0, "\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
		return "wma"
	case has(0, "%PDF"):
		return "pdf"
	case has(0, "PK\x03\x04"):
		return "zip"
	}
	if len(b) >= 4 {
		if _, ok := parseMP3Header(b[:4]); ok {
			return fmtMP3
		}
	}
	return ""
}

// probe checks that the media file r (size bytes, named name in messages)
// really is the format its extension says and can be decoded. The error
// text is for the clinician.
func probe(name string, r io.ReadSeeker, size int64) error {
	ext := strings.ToLower(path.Ext(name))
	want, known := extFormats[ext]
	if !known {
		return fmt.Errorf("cueroom does not know files ending in %s", ext)
	}
	head := make([]byte, 64)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("cannot be read: %v", err)
	}
	got := sniff(head[:n])
	if got == fmtID3 && (want == fmtMP3 || want == fmtFLAC) {
		got = want
	}
	if got != "" && got != want {
		return mismatch(name, want, got)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("cannot be read: %v", err)
	}
	switch want {
	case fmtPNG, fmtJPEG:
		return checkImage(r, want, size)
	case fmtWAV:
		return checkWAV(r, size)
	case fmtMP3:
		err = checkMP3(r, size)
	case fmtOgg:
		err = checkOgg(r)
	case fmtFLAC:
		err = checkFLAC(r, size)
	}
	if err != nil {
		return err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("cannot be read: %v", err)
	}
	return guard(func() error { return decodeCompressed(r, want) })
}

// guard turns a panic in a third-party decoder into an error, so a damaged
// file is reported instead of stopping the program.
func guard(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("cannot be decoded (the decoder failed: %v); it may be damaged: export it again from the original", v)
		}
	}()
	return f()
}

// mismatch explains a file whose content is not what its name says.
func mismatch(name, want, got string) error {
	wantPic := isPicture(want)
	gotName := formatNames[got]
	if gotName == "" {
		gotName = "a " + got + " file"
	}
	if ext, playable := formatExts[got]; playable && isPicture(got) == wantPic {
		renamed := strings.TrimSuffix(name, path.Ext(name)) + ext
		return fmt.Errorf("is really %s, but its name ends in %s; rename the file to %s and change the protocol to match",
			gotName, path.Ext(name), path.Base(renamed))
	}
	switch {
	case wantPic && isPicture(got):
		return fmt.Errorf("is %s, but cueroom shows PNG and JPEG pictures; convert it (for example, export it as JPEG) and use that file", gotName)
	case wantPic:
		return fmt.Errorf("is %s, not a picture; use image: only for PNG or JPEG pictures", gotName)
	case isPicture(got):
		return fmt.Errorf("is %s, not a sound; use image: for pictures", gotName)
	case got == "mp4" || got == "pdf" || got == "zip":
		return fmt.Errorf("is %s, not a sound; use a WAV, MP3, Ogg Vorbis or FLAC file", gotName)
	}
	return fmt.Errorf("is %s, but cueroom plays WAV, MP3, Ogg Vorbis and FLAC sounds; convert it to WAV or MP3 and use that file", gotName)
}

// damaged is the common ending for a file whose structure is broken.
func damaged(format string, args ...any) error {
	return fmt.Errorf(format+"; the file may be damaged or cut short: export or copy it again from the original", args...)
}

// checkImage reads the picture's size, then decodes it completely, so a
// truncated file is found now rather than when the patient should see it.
func checkImage(r io.ReadSeeker, format string, size int64) error {
	var cfg image.Config
	err := guard(func() (err error) {
		if format == fmtPNG {
			cfg, err = png.DecodeConfig(r)
		} else {
			cfg, err = jpeg.DecodeConfig(r)
		}
		return err
	})
	if err != nil {
		return damaged("is not a readable %s picture (%v)", strings.ToUpper(format), err)
	}
	w, h := cfg.Width, cfg.Height
	switch {
	case w < minImageSide || h < minImageSide:
		return fmt.Errorf("is only %d×%d pixels; a cue picture must be at least %d×%d: use a larger picture", w, h, minImageSide, minImageSide)
	case w > maxImageSide || h > maxImageSide || int64(w)*int64(h) > maxImagePixels:
		return fmt.Errorf("is %d×%d pixels, larger than cueroom can show (at most %d pixels a side and %d megapixels); make it smaller",
			w, h, maxImageSide, maxImagePixels/1000000)
	case format == fmtPNG && int64(w)*int64(h) > size*pngPixelsPerByte,
		format == fmtJPEG && int64(w)*int64(h) > size*jpegPixelsPerByte:
		return damaged("says it is %d×%d pixels, far more than %d bytes can hold", w, h, size)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("cannot be read: %v", err)
	}
	err = guard(func() (err error) {
		if format == fmtPNG {
			_, err = png.Decode(r)
		} else {
			_, err = jpeg.Decode(r)
		}
		return err
	})
	if err != nil {
		return damaged("has a readable header but its picture data is broken (%v)", err)
	}
	return nil
}

// ---- WAV ----

// Limits on WAV and FLAC structure; the decoders allocate sizes they read.
const (
	maxWAVChunks = 256
	maxMetaBlock = 16 << 20 // tags, cover art... before the sound
)

// wavFormat is the part of the "fmt " chunk cueroom needs.
type wavFormat struct {
	tag, channels, blockAlign, bits uint16
	rate                            uint32
}

// checkWAV walks the RIFF chunks up to the sound data, checks the format is
// one the player decodes, then decodes the first samples.
func checkWAV(r io.ReadSeeker, size int64) error {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return damaged("is too short to be a WAV sound")
	}
	if string(hdr[:4]) == "RIFX" {
		return errors.New("is a big-endian (RIFX) WAV, which cueroom does not play; export it again as a standard 16-bit PCM WAV")
	}
	if string(hdr[:4]) != "RIFF" || string(hdr[8:]) != "WAVE" {
		return damaged("is not a WAV sound (it does not start with RIFF...WAVE)")
	}
	pos := int64(12)
	var f *wavFormat
	for chunks := 0; ; chunks++ {
		if chunks == maxWAVChunks {
			return damaged("has more than %d sections before its sound", maxWAVChunks)
		}
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return damaged("ends before its sound data (no data section)")
		}
		pos += 8
		id, n := string(ch[:4]), int64(binary.LittleEndian.Uint32(ch[4:]))
		switch id {
		case "fmt ":
			if f != nil {
				return damaged("has two format sections")
			}
			var err error
			if f, err = readWAVFormat(r, n); err != nil {
				return err
			}
		case "data":
			if f == nil {
				return damaged("has its sound data before its format section")
			}
			switch {
			case n == 0:
				return errors.New("holds no sound (its data section is empty); export the sound again")
			case n > size-pos:
				return damaged("says it holds %d bytes of sound but only %d are there", n, size-pos)
			case n > 1<<31-1:
				return errors.New("is larger than 2 GB, more than a WAV can hold; shorten the sound or use MP3")
			case n < int64(f.blockAlign):
				return damaged("holds less than one sample of sound")
			}
			if _, err := r.Seek(0, io.SeekStart); err != nil {
				return fmt.Errorf("cannot be read: %v", err)
			}
			return decodeWAV(r)
		default:
			if n > maxMetaBlock {
				return fmt.Errorf("has a %q section of %d MB before its sound, larger than cueroom accepts (%d MB); export the sound again without extra data (tags, pictures)",
					strings.TrimSpace(id), n>>20, maxMetaBlock>>20)
			}
			n += n & 1 // RIFF sections are padded to an even length
			if n > size-pos {
				return damaged("has a %q section longer than the file", strings.TrimSpace(id))
			}
			if _, err := r.Seek(n, io.SeekCurrent); err != nil {
				return fmt.Errorf("cannot be read: %v", err)
			}
		}
		pos += n
	}
}

// readWAVFormat reads a "fmt " chunk of n bytes and checks that the player's
// decoder handles it: integer PCM, 8/16/24 bits, consistent frame size.
func readWAVFormat(r io.Reader, n int64) (*wavFormat, error) {
	if n < 16 || n > 1024 || n%2 != 0 {
		return nil, damaged("has a format section of an impossible size (%d bytes)", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, damaged("ends inside its format section")
	}
	le := binary.LittleEndian
	f := &wavFormat{tag: le.Uint16(b), channels: le.Uint16(b[2:]), rate: le.Uint32(b[4:]), blockAlign: le.Uint16(b[12:]), bits: le.Uint16(b[14:])}
	const reexport = "export it again as 16-bit PCM WAV"
	switch f.tag {
	case 1: // PCM
	case 0xFFFE: // WAVE_FORMAT_EXTENSIBLE: the decoder reads exactly 40 bytes and needs the PCM sub-format
		if n != 40 {
			return nil, fmt.Errorf("uses an extended WAV format cueroom does not play; %s", reexport)
		}
		if sub := le.Uint16(b[24:]); sub != 1 || !bytes.Equal(b[26:40], []byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71}) {
			if sub == 3 {
				return nil, fmt.Errorf("is a 32-bit floating-point WAV, which cueroom does not play; %s", reexport)
			}
			return nil, fmt.Errorf("uses a compressed or unusual WAV encoding, which cueroom does not play; %s", reexport)
		}
	case 3:
		return nil, fmt.Errorf("is a 32-bit floating-point WAV, which cueroom does not play; %s", reexport)
	default:
		return nil, fmt.Errorf("uses a compressed WAV encoding (format %d), which cueroom does not play; %s", f.tag, reexport)
	}
	switch {
	case f.bits != 8 && f.bits != 16 && f.bits != 24:
		return nil, fmt.Errorf("has %d bits per sample; cueroom plays 8, 16 or 24-bit WAV: %s", f.bits, reexport)
	case f.channels < 1 || f.channels > 8:
		return nil, damaged("says it has %d channels", f.channels)
	case f.rate < 8000 || f.rate > 192000:
		return nil, damaged("says its sample rate is %d Hz (expected 8000 to 192000)", f.rate)
	case int(f.blockAlign) != int(f.channels)*int(f.bits)/8:
		return nil, damaged("has an inconsistent format section (%d channels of %d bits but %d bytes per frame)", f.channels, f.bits, f.blockAlign)
	}
	return f, nil
}

// ---- MP3 ----

type mp3Header struct {
	mpeg1  bool
	layer  int // 1, 2 or 3
	rate   int // Hz
	length int // bytes in the frame, header included
}

var (
	mp3Rates  = [4][3]int{{11025, 12000, 8000}, {}, {22050, 24000, 16000}, {44100, 48000, 32000}} // by version bits
	mp3BitsV1 = [3][16]int{                                                                       // kbit/s by layer (I, II, III)
		{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},
		{0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},
		{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},
	}
	mp3BitsV2 = [3][16]int{
		{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},
		{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
		{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
	}
)

// parseMP3Header decodes a 4-byte MPEG audio frame header.
func parseMP3Header(b []byte) (mp3Header, bool) {
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return mp3Header{}, false
	}
	version := int(b[1]>>3) & 3
	layerBits := int(b[1]>>1) & 3
	bitIdx := int(b[2] >> 4)
	rateIdx := int(b[2]>>2) & 3
	pad := int(b[2]>>1) & 1
	if version == 1 || layerBits == 0 || bitIdx == 0 || bitIdx == 15 || rateIdx == 3 {
		return mp3Header{}, false // reserved values, or free bitrate (frame length unknown)
	}
	h := mp3Header{mpeg1: version == 3, layer: 4 - layerBits, rate: mp3Rates[version][rateIdx]}
	kbps := mp3BitsV2[h.layer-1][bitIdx]
	if h.mpeg1 {
		kbps = mp3BitsV1[h.layer-1][bitIdx]
	}
	switch {
	case h.layer == 1:
		h.length = (12*kbps*1000/h.rate + pad) * 4
	case h.layer == 3 && !h.mpeg1:
		h.length = 72*kbps*1000/h.rate + pad
	default:
		h.length = 144*kbps*1000/h.rate + pad
	}
	return h, h.length >= 4
}

// mp3Search bounds how far into the file the first frame may be.
const mp3Search = 64 << 10

// checkMP3 skips an ID3 tag, then finds a Layer III frame followed by a
// second one of the same kind (or the end of the file), which random bytes
// almost never imitate.
func checkMP3(r io.ReadSeeker, size int64) error {
	start, err := skipID3(r, size)
	if err != nil {
		return err
	}
	buf := make([]byte, min(size-start, mp3Search+4096))
	n, err := io.ReadFull(r, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("cannot be read: %v", err)
	}
	buf = buf[:n]
	layer := 0
	for i := 0; i+4 <= len(buf) && i < mp3Search; i++ {
		h, ok := parseMP3Header(buf[i:])
		if !ok {
			continue
		}
		next := i + h.length
		atEnd := start+int64(next) == size || (next+3 <= len(buf) && string(buf[next:next+3]) == "TAG")
		h2, ok2 := parseMP3Header(buf[min(next, len(buf)):])
		if !atEnd && !(ok2 && h2.layer == h.layer && h2.rate == h.rate && h2.mpeg1 == h.mpeg1) {
			continue
		}
		if h.layer != 3 {
			layer = h.layer
			continue
		}
		return nil
	}
	if layer != 0 {
		return fmt.Errorf("is MPEG audio layer %d (often named .mp2), not MP3; convert it to MP3 or WAV", layer)
	}
	return damaged("is not an MP3 sound (no MP3 audio found in its first %d KB)", mp3Search>>10)
}

// skipID3 positions r after an ID3v2 tag, if there is one, and returns the
// offset where the audio starts.
func skipID3(r io.ReadSeeker, size int64) (int64, error) {
	var h [10]byte
	n, _ := io.ReadFull(r, h[:])
	if n < 10 || string(h[:3]) != "ID3" {
		_, err := r.Seek(0, io.SeekStart)
		return 0, err
	}
	if h[6]|h[7]|h[8]|h[9] >= 0x80 {
		return 0, damaged("has a broken ID3 tag")
	}
	tag := int64(h[6])<<21 | int64(h[7])<<14 | int64(h[8])<<7 | int64(h[9]) + 10
	if h[5]&0x10 != 0 { // footer present
		tag += 10
	}
	if tag >= size {
		return 0, damaged("has an ID3 tag but no sound after it")
	}
	_, err := r.Seek(tag, io.SeekStart)
	return tag, err
}

// ---- Ogg Vorbis ----

// Bounds on reading Ogg headers: the setup header is usually a few KB.
const (
	oggMaxHeaderBytes = 4 << 20
	oggMaxPages       = 4096
)

// oggPage is one page of an Ogg stream.
type oggPage struct {
	flags  byte
	serial uint32
	segs   []byte // lacing values
	body   []byte
}

// readOggPage reads one page and verifies its checksum.
func readOggPage(r io.Reader, budget *int64) (*oggPage, error) {
	var h [27]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	if string(h[:4]) != "OggS" || h[4] != 0 {
		return nil, damaged("has a broken Ogg page")
	}
	p := &oggPage{flags: h[5], serial: binary.LittleEndian.Uint32(h[14:])}
	p.segs = make([]byte, h[26])
	if _, err := io.ReadFull(r, p.segs); err != nil {
		return nil, damaged("ends inside an Ogg page")
	}
	n := 0
	for _, s := range p.segs {
		n += int(s)
	}
	if *budget -= int64(27 + len(p.segs) + n); *budget < 0 {
		return nil, damaged("has Ogg headers larger than %d MB", oggMaxHeaderBytes>>20)
	}
	p.body = make([]byte, n)
	if _, err := io.ReadFull(r, p.body); err != nil {
		return nil, damaged("ends inside an Ogg page")
	}
	want := binary.LittleEndian.Uint32(h[22:])
	h[22], h[23], h[24], h[25] = 0, 0, 0, 0
	crc := oggChecksum(0, h[:])
	crc = oggChecksum(crc, p.segs)
	crc = oggChecksum(crc, p.body)
	if crc != want {
		return nil, damaged("has an Ogg page whose checksum does not match")
	}
	return p, nil
}

// oggTable is the CRC-32 table of Ogg (polynomial 0x04c11db7, MSB first,
// no reflection, no final xor), which hash/crc32 does not provide.
var oggTable = func() (t [256]uint32) {
	for i := range t {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04c11db7
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

func oggChecksum(crc uint32, b []byte) uint32 {
	for _, v := range b {
		crc = crc<<8 ^ oggTable[byte(crc>>24)^v]
	}
	return crc
}

// checkOgg reads the first logical stream's packets until the three Vorbis
// headers and the first audio packet are complete.
func checkOgg(r io.Reader) error {
	budget := int64(oggMaxHeaderBytes)
	var serial uint32
	var packets [][]byte
	var cur []byte
	for pages := 0; pages < oggMaxPages; pages++ {
		p, err := readOggPage(r, &budget)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return err
		}
		if pages == 0 {
			if p.flags&0x02 == 0 {
				return damaged("does not start like an Ogg stream")
			}
			serial = p.serial
		} else if p.serial != serial {
			continue // another stream multiplexed in the same file
		}
		off := 0
		for _, s := range p.segs {
			cur = append(cur, p.body[off:off+int(s)]...)
			off += int(s)
			if s < 255 { // a lacing value under 255 ends a packet
				packets = append(packets, cur)
				cur = nil
			}
		}
		if len(packets) > 0 && pages == 0 {
			if err := checkVorbisIdent(packets[0]); err != nil {
				return err
			}
		}
		if len(packets) >= 4 {
			if !bytes.HasPrefix(packets[1], []byte("\x03vorbis")) || !bytes.HasPrefix(packets[2], []byte("\x05vorbis")) {
				return damaged("has broken Vorbis headers")
			}
			if err := checkVorbisComment(packets[1][7:]); err != nil {
				return err
			}
			return checkVorbisCodebooks(packets[2][7:])
		}
	}
	if len(packets) == 0 {
		return damaged("holds no complete Ogg packet")
	}
	if err := checkVorbisIdent(packets[0]); err != nil {
		return err
	}
	if len(packets) < 4 {
		return errors.New("holds no sound after its Vorbis headers (or is cut short); export the sound again")
	}
	return nil
}

// checkVorbisIdent checks the identification header, and names the codec
// when the Ogg file holds something other than Vorbis.
func checkVorbisIdent(p []byte) error {
	switch {
	case bytes.HasPrefix(p, []byte("OpusHead")):
		return errors.New("is Ogg Opus, but cueroom plays Ogg Vorbis; convert it to Ogg Vorbis, WAV or MP3")
	case bytes.HasPrefix(p, []byte("\x7fFLAC")):
		return errors.New("is FLAC inside Ogg, which cueroom does not play; convert it to a plain .flac file, WAV or MP3")
	case bytes.HasPrefix(p, []byte("Speex")):
		return errors.New("is Ogg Speex, which cueroom does not play; convert it to Ogg Vorbis, WAV or MP3")
	case bytes.HasPrefix(p, []byte("\x80theora")):
		return errors.New("is an Ogg video (Theora), not a sound; use a WAV, MP3, Ogg Vorbis or FLAC file")
	case !bytes.HasPrefix(p, []byte("\x01vorbis")):
		return damaged("is an Ogg file that does not hold Vorbis sound")
	case len(p) < 30:
		return damaged("has a broken Vorbis header")
	}
	le := binary.LittleEndian
	version, channels, rate := le.Uint32(p[7:]), p[11], le.Uint32(p[12:])
	bs0, bs1 := p[28]&0x0F, p[28]>>4
	if version != 0 || channels == 0 || rate == 0 || bs0 < 6 || bs1 > 13 || bs0 > bs1 || p[29]&1 == 0 {
		return damaged("has a broken Vorbis header")
	}
	return nil
}

// checkVorbisComment checks that every length in the comment header fits in
// it: the decoder allocates what they say before looking.
func checkVorbisComment(p []byte) error {
	bad := damaged("has a broken Vorbis comment header")
	take := func() (uint32, bool) {
		if len(p) < 4 {
			return 0, false
		}
		v := binary.LittleEndian.Uint32(p)
		p = p[4:]
		return v, true
	}
	n, ok := take()
	if !ok || uint64(n) > uint64(len(p)) {
		return bad
	}
	p = p[n:]
	count, ok := take()
	if !ok || uint64(count) > uint64(len(p))/4 {
		return bad
	}
	for range count {
		n, ok := take()
		if !ok || uint64(n) > uint64(len(p)) {
			return bad
		}
		p = p[n:]
	}
	return nil
}

// Bounds on Vorbis codebooks. Encoders use at most a few thousand entries
// of up to 8 dimensions; the decoder allocates entries×dimensions values and
// hangs on 0 dimensions, so anything outside these bounds is refused.
const (
	vorbisMaxEntries = 1 << 20
	vorbisMaxValues  = 1 << 22
)

// vorbisBits reads a Vorbis packet's bits, least significant first.
type vorbisBits struct {
	p   []byte
	pos uint64 // in bits
}

func (b *vorbisBits) left() uint64 { return uint64(len(b.p))*8 - b.pos }

// read returns n ≤ 32 bits; ok is false past the end of the packet.
func (b *vorbisBits) read(n uint) (v uint32, ok bool) {
	if uint64(n) > b.left() {
		return 0, false
	}
	for i := range n {
		bit := b.p[b.pos>>3] >> (b.pos & 7) & 1
		v |= uint32(bit) << i
		b.pos++
	}
	return v, true
}

// checkVorbisCodebooks walks the codebooks of a setup header as the
// decoder will, refusing sizes that would make it allocate without bound or
// loop forever.
func checkVorbisCodebooks(p []byte) error {
	bad := damaged("has a broken Vorbis setup header")
	odd := errors.New("uses Vorbis settings far outside what encoders produce; convert it to WAV or MP3")
	b := &vorbisBits{p: p}
	count, ok := b.read(8)
	if !ok {
		return bad
	}
	for range count + 1 {
		sync, ok1 := b.read(24)
		dims, ok2 := b.read(16)
		entries, ok3 := b.read(24)
		ordered, ok4 := b.read(1)
		if !ok1 || !ok2 || !ok3 || !ok4 || sync != 0x564342 {
			return bad
		}
		if dims == 0 || entries == 0 || entries > vorbisMaxEntries || uint64(entries)*uint64(dims) > vorbisMaxValues {
			return odd
		}
		if ordered == 0 {
			sparse, ok := b.read(1)
			if !ok {
				return bad
			}
			for range entries {
				used := uint32(1)
				if sparse == 1 {
					if used, ok = b.read(1); !ok {
						return bad
					}
				}
				if used == 1 {
					if _, ok := b.read(5); !ok {
						return bad
					}
				}
			}
		} else {
			length, ok := b.read(5)
			if !ok {
				return bad
			}
			for cur := uint32(0); cur < entries; length++ {
				num, ok := b.read(uint(bitLen(entries - cur)))
				if !ok || length >= 32 || num > entries-cur {
					return bad
				}
				cur += num
			}
		}
		lookup, ok := b.read(4)
		switch {
		case !ok || lookup > 2:
			return bad
		case lookup == 0:
			continue
		}
		_, ok1 = b.read(32) // minimum value
		_, ok2 = b.read(32) // delta value
		valueBits, ok3 := b.read(4)
		_, ok4 = b.read(1) // sequence flag
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return bad
		}
		values := uint64(entries) * uint64(dims)
		if lookup == 1 {
			values = uint64(lookup1Values(entries, dims))
		}
		need := values * uint64(valueBits+1)
		if need > b.left() {
			return bad
		}
		b.pos += need
	}
	return nil
}

// lookup1Values is the largest r with r^dims ≤ entries (Vorbis I spec 9.2.3).
func lookup1Values(entries, dims uint32) uint32 {
	r := uint32(1)
	for {
		p := uint64(1)
		for range dims {
			p *= uint64(r + 1)
			if p > uint64(entries) {
				return r
			}
		}
		r++
	}
}

func bitLen(x uint32) int {
	n := 0
	for ; x > 0; x >>= 1 {
		n++
	}
	return n
}

// ---- FLAC ----

// checkFLAC checks the metadata blocks and the header of the first audio
// frame, including its CRC-8.
func checkFLAC(r io.ReadSeeker, size int64) error {
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil || string(magic[:]) != "fLaC" {
		if string(magic[:3]) == "ID3" {
			// The player's FLAC decoder fails on these (it loses its place
			// skipping the tag), so refuse them here rather than mid-session.
			return errors.New("starts with an ID3 tag, which cueroom's FLAC player cannot skip; remove the tags in your audio editor, or export the sound again as WAV")
		}
		return damaged("is not a FLAC sound (it does not start with fLaC)")
	}
	pos := int64(4)
	for blocks := 0; ; blocks++ {
		if blocks == 1024 {
			return damaged("has too many FLAC metadata blocks")
		}
		var h [4]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return damaged("ends inside its FLAC header")
		}
		pos += 4
		last, typ := h[0]&0x80 != 0, h[0]&0x7F
		n := int64(h[1])<<16 | int64(h[2])<<8 | int64(h[3])
		if n > size-pos || typ == 127 {
			return damaged("has a broken FLAC metadata block")
		}
		if blocks == 0 {
			if typ != 0 || n != 34 {
				return damaged("lacks the FLAC stream information block")
			}
			var si [34]byte
			if _, err := io.ReadFull(r, si[:]); err != nil {
				return damaged("ends inside its FLAC header")
			}
			if err := checkStreamInfo(si[:]); err != nil {
				return err
			}
		} else if typ == 4 || typ == 6 {
			// Tags and pictures hold lengths the decoder allocates blindly.
			if n > maxMetaBlock {
				return fmt.Errorf("has %d MB of tags or pictures, more than cueroom accepts (%d MB); export the sound again without them",
					n>>20, maxMetaBlock>>20)
			}
			body := make([]byte, n)
			if _, err := io.ReadFull(r, body); err != nil {
				return damaged("ends inside its FLAC header")
			}
			check := checkVorbisComment
			if typ == 6 {
				check = checkFLACPicture
			}
			if err := check(body); err != nil {
				return damaged("has a broken FLAC tag or picture block")
			}
		} else if _, err := r.Seek(n, io.SeekCurrent); err != nil {
			return fmt.Errorf("cannot be read: %v", err)
		}
		pos += n
		if last {
			break
		}
	}
	var fh [16]byte
	n, _ := io.ReadFull(r, fh[:])
	if n == 0 {
		return errors.New("holds no sound after its FLAC header; export the sound again")
	}
	return checkFLACFrameHeader(fh[:n])
}

// checkFLACPicture checks the lengths inside a PICTURE block.
func checkFLACPicture(p []byte) error {
	bad := errors.New("broken picture block")
	skip := func(n int) bool {
		if len(p) < n {
			return false
		}
		p = p[n:]
		return true
	}
	length := func() (uint32, bool) {
		if len(p) < 4 {
			return 0, false
		}
		return binary.BigEndian.Uint32(p), skip(4)
	}
	if !skip(4) { // picture type
		return bad
	}
	for range 2 { // MIME type, description
		n, ok := length()
		if !ok || uint64(n) > uint64(len(p)) || !skip(int(n)) {
			return bad
		}
	}
	if !skip(16) { // width, height, depth, colours
		return bad
	}
	n, ok := length()
	if !ok || uint64(n) > uint64(len(p)) {
		return bad
	}
	return nil
}

func checkStreamInfo(si []byte) error {
	minBlock := int(binary.BigEndian.Uint16(si[0:]))
	maxBlock := int(binary.BigEndian.Uint16(si[2:]))
	rate := int(si[10])<<12 | int(si[11])<<4 | int(si[12]>>4)
	bits := (int(si[12]&1)<<4 | int(si[13]>>4)) + 1
	switch {
	case minBlock < 16 || maxBlock < minBlock:
		return damaged("has impossible FLAC block sizes (%d to %d)", minBlock, maxBlock)
	case rate == 0:
		return damaged("says its sample rate is 0 Hz")
	case bits < 4:
		return damaged("says it has %d bits per sample", bits)
	}
	return nil
}

// checkFLACFrameHeader checks the sync code and the CRC-8 of the first frame
// header (b holds at least its first bytes).
func checkFLACFrameHeader(b []byte) error {
	bad := damaged("has broken FLAC audio right after its header")
	if len(b) < 5 || b[0] != 0xFF || b[1]&0xFE != 0xF8 {
		return bad
	}
	bsCode, srCode := b[2]>>4, b[2]&0x0F
	if bsCode == 0 || srCode == 15 || b[3]>>4 > 10 {
		return bad
	}
	i := 4
	// The frame or sample number is UTF-8 coded: the lead byte gives its length.
	lead, extra := b[i], 0
	switch {
	case lead < 0x80:
	case lead&0xE0 == 0xC0:
		extra = 1
	case lead&0xF0 == 0xE0:
		extra = 2
	case lead&0xF8 == 0xF0:
		extra = 3
	case lead&0xFC == 0xF8:
		extra = 4
	case lead&0xFE == 0xFC:
		extra = 5
	case lead == 0xFE:
		extra = 6
	default:
		return bad
	}
	i += 1 + extra
	switch bsCode {
	case 6:
		i++
	case 7:
		i += 2
	}
	switch srCode {
	case 12:
		i++
	case 13, 14:
		i += 2
	}
	if i >= len(b) {
		return bad
	}
	if crc8(b[:i]) != b[i] {
		return bad
	}
	return nil
}

// crc8 is FLAC's header CRC (polynomial 0x07, initial 0).
func crc8(b []byte) byte {
	var c byte
	for _, v := range b {
		c ^= v
		for range 8 {
			if c&0x80 != 0 {
				c = c<<1 ^ 0x07
			} else {
				c <<= 1
			}
		}
	}
	return c
}
