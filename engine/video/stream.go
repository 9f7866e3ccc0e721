package video

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"runtime/debug"

	"github.com/gen2brain/mpeg"
)

// maxInMemory bounds a file held in memory because its fs.FS cannot seek.
const maxInMemory = 256 << 20

// source opens the file once for each reader: the probe, the picture
// decoder and the sound decoder each read it at their own pace.
type source struct {
	fsys fs.FS
	name string
	data []byte // the whole file, when fsys's files cannot seek
}

func (s *source) open() (io.ReadSeeker, io.Closer, error) {
	if s.data != nil {
		return bytes.NewReader(s.data), io.NopCloser(nil), nil
	}
	f, err := s.fsys.Open(s.name)
	if err != nil {
		return nil, nil, err
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, nil, fmt.Errorf("is a folder, not a video file")
	}
	if rs, ok := f.(io.ReadSeeker); ok {
		return rs, f, nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxInMemory+1))
	if err != nil {
		return nil, nil, err
	}
	if len(b) > maxInMemory {
		return nil, nil, fmt.Errorf("over %d MB and its file system cannot seek: put it in a plain folder", maxInMemory>>20)
	}
	s.data = b
	return bytes.NewReader(b), io.NopCloser(nil), nil
}

// esSource feeds one elementary stream of the program stream to a decoder.
// It does what gen2brain/mpeg's MPEG type does inside, without that type's
// end-of-file channel (which blocks on a second end of file) and with one
// reader per stream, so pictures and sound are decoded on separate
// goroutines.
type esSource struct {
	demux *mpeg.Demux
	typ   int
	buf   *mpeg.Buffer
	// tail is appended to the stream at its end (once per pass).
	tail     []byte
	tailSent bool
}

func newES(r io.ReadSeeker, typ int) (*esSource, error) {
	fb, err := mpeg.NewBuffer(r)
	if err != nil {
		return nil, err
	}
	fb.SetLoadCallback(fb.LoadReaderCallback)
	d, err := mpeg.NewDemux(fb)
	if err != nil {
		return nil, err
	}
	es := &esSource{demux: d, typ: typ}
	if es.buf, err = mpeg.NewBuffer(nil); err != nil {
		return nil, err
	}
	es.buf.SetLoadCallback(es.load)
	return es, nil
}

// load moves the next packet of the stream into the decoder's buffer.
func (e *esSource) load(b *mpeg.Buffer) {
	for {
		p := e.demux.Decode()
		if p == nil {
			break
		}
		if p.Type == e.typ {
			b.Write(p.Data)
			return
		}
	}
	if !e.demux.HasEnded() {
		return
	}
	if e.tail != nil && !e.tailSent {
		e.tailSent = true
		b.Write(e.tail)
		return
	}
	b.SignalEnd()
}

func (e *esSource) rewind() {
	e.demux.Rewind()
	e.tailSent = false
}

// flushPicture ends the video stream with an empty P-picture: the decoder
// holds back the last reference picture until the next I or P picture
// arrives, and when the stream ends on B-pictures it never gives it out,
// losing the last frame. This P-picture has no slices, so it only pushes
// that frame out; whatever the decoder returns after it is not in the file
// and is not shown (run stops after the probe's picture count).
var flushPicture = []byte{
	0, 0, 1, codePicture,
	// temporal_reference 0 (10 bits), picture_coding_type P (010),
	// vbv_delay 0xFFFF, full_pel_forward_vector 0, forward_f_code 001,
	// extra_bit_picture 0, zero padding to the byte.
	0x00, 0x17, 0xFF, 0xF8, 0x80,
	0, 0, 1, 0xB7, // sequence_end_code
}

// protect runs a decoder call, turning its panics, and memory faults in
// its assembly, into errors: a damaged file must not take the session down.
func protect(f func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the decoder failed on damaged data (%v)", r)
		}
	}()
	return f()
}

// pictures decodes the video stream.
type pictures struct {
	es  *esSource
	dec *mpeg.Video
}

func newPictures(r io.ReadSeeker) (*pictures, error) {
	p := &pictures{}
	err := protect(func() error {
		es, err := newES(r, mpeg.PacketVideo1)
		if err != nil {
			return err
		}
		es.tail = flushPicture
		p.es, p.dec = es, mpeg.NewVideo(es.buf)
		return nil
	})
	return p, err
}

// next decodes the next picture in display order; nil at the end.
func (p *pictures) next() (f *mpeg.Frame, err error) {
	err = protect(func() error {
		f = p.dec.Decode()
		return nil
	})
	return f, err
}

func (p *pictures) rewind() error {
	return protect(func() error {
		p.es.rewind()
		p.dec.Rewind()
		return nil
	})
}
