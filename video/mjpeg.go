package video

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"time"
)

// MJPEGReader reads a stream of JPEG images: concatenated files, as
// ffmpeg's -f mjpeg writes, or the body of a multipart/x-mixed-replace
// HTTP camera stream. Each image is delimited by parsing its JPEG markers
// from SOI to EOI (entropy-coded data included), not by searching for the
// EOI bytes, so every frame is cut exactly; bytes between images (part
// boundaries and headers) are skipped up to Limits.MaxFrameBytes. Each
// frame's dimensions are checked against the limits before it is decoded.
// An MJPEGReader is not safe for concurrent use.
type MJPEGReader struct {
	// FPS sets frame times: frame N is at N/FPS seconds. Zero means the
	// time the frame's first byte arrived after the first frame's (live
	// cameras).
	FPS float64

	r     *bufio.Reader
	lim   Limits
	n     int
	start time.Time
	buf   []byte
	err   error
	// skipped counts the junk bytes before the current image's SOI.
	skipped int
}

// NewMJPEGReader returns a reader of the JPEG images in r.
func NewMJPEGReader(r io.Reader, lim Limits) *MJPEGReader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 1<<16)
	}
	return &MJPEGReader{r: br, lim: lim}
}

// Next reads and decodes the next image. It returns io.EOF at the end of
// the stream (trailing bytes that hold no JPEG start are ignored); an image
// cut short gives ErrTruncated, bytes that are not JPEG give ErrFormat.
// After an error Next keeps returning it.
func (m *MJPEGReader) Next() (*Frame, error) {
	if m.err != nil {
		return nil, m.err
	}
	f, err := m.next()
	if err != nil {
		m.err = err
		return nil, err
	}
	m.n++
	return f, nil
}

func (m *MJPEGReader) next() (*Frame, error) {
	data, err := m.ReadJPEG()
	if err != nil {
		return nil, err
	}
	arrived := time.Now()
	if m.n == 0 {
		m.start = arrived
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: mjpeg frame %d: %w", ErrFormat, m.n, err)
	}
	if err := m.lim.check(cfg.Width, cfg.Height); err != nil {
		return nil, fmt.Errorf("mjpeg frame %d: %w", m.n, err)
	}
	img, err := decodeJPEG(data)
	if err != nil {
		return nil, fmt.Errorf("%w: mjpeg frame %d: %w", ErrFormat, m.n, err)
	}
	f := &Frame{Index: m.n, Image: img}
	if m.FPS > 0 {
		f.Time = float64(m.n) / m.FPS
	} else {
		f.Time = arrived.Sub(m.start).Seconds()
	}
	return f, nil
}

// decodeJPEG decodes data, turning a decoder panic into an error.
func decodeJPEG(data []byte) (img image.Image, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("jpeg decoder panicked: %v", v)
		}
	}()
	return jpeg.Decode(bytes.NewReader(data))
}

// ReadJPEG returns the bytes of the next JPEG image, SOI to EOI, without
// decoding it. The slice is reused by the next call.
func (m *MJPEGReader) ReadJPEG() ([]byte, error) {
	max := m.lim.frameBytes()
	if err := m.findSOI(max); err != nil {
		return nil, err
	}
	buf := append(m.buf[:0], 0xFF, 0xD8)
	defer func() { m.buf = buf[:0] }()
	cut := func(err error) error {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: mjpeg frame %d ends after %d bytes", ErrTruncated, m.n, len(buf))
		}
		return fmt.Errorf("mjpeg frame %d: %w", m.n, err)
	}
	var marker byte
	have := false // marker already read (it ended entropy-coded data)
	for {
		if len(buf) > max {
			return nil, fmt.Errorf("%w: mjpeg frame %d is over %d bytes", ErrTooLarge, m.n, max)
		}
		if !have {
			b, err := m.r.ReadByte()
			if err != nil {
				return nil, cut(err)
			}
			if b != 0xFF {
				return nil, fmt.Errorf("%w: mjpeg frame %d: byte %#02x where a JPEG marker should be", ErrFormat, m.n, b)
			}
			for b == 0xFF { // fill bytes
				if b, err = m.r.ReadByte(); err != nil {
					return nil, cut(err)
				}
			}
			marker = b
		}
		have = false
		buf = append(buf, 0xFF, marker)
		switch {
		case marker == 0xD9: // EOI
			return buf, nil
		case marker == 0xD8:
			return nil, fmt.Errorf("%w: mjpeg frame %d: a JPEG start inside a JPEG", ErrFormat, m.n)
		case marker >= 0xD0 && marker <= 0xD7, marker == 0x01: // standalone
			continue
		case marker == 0x00:
			return nil, fmt.Errorf("%w: mjpeg frame %d: stuffed byte outside entropy-coded data", ErrFormat, m.n)
		}
		var l [2]byte
		if _, err := io.ReadFull(m.r, l[:]); err != nil {
			return nil, cut(err)
		}
		n := int(l[0])<<8 | int(l[1])
		if n < 2 {
			return nil, fmt.Errorf("%w: mjpeg frame %d: segment length %d", ErrFormat, m.n, n)
		}
		buf = append(buf, l[0], l[1])
		start := len(buf)
		buf = append(buf, make([]byte, n-2)...)
		if _, err := io.ReadFull(m.r, buf[start:]); err != nil {
			return nil, cut(err)
		}
		if marker != 0xDA { // not SOS
			continue
		}
		// Entropy-coded data runs to the next marker that is neither a
		// stuffed zero nor a restart marker.
		for {
			if len(buf) > max {
				return nil, fmt.Errorf("%w: mjpeg frame %d is over %d bytes", ErrTooLarge, m.n, max)
			}
			chunk, err := m.r.ReadSlice(0xFF)
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				return nil, cut(err)
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				buf = append(buf, chunk...)
				continue
			}
			buf = append(buf, chunk[:len(chunk)-1]...)
			b, err := m.r.ReadByte()
			for err == nil && b == 0xFF {
				b, err = m.r.ReadByte()
			}
			if err != nil {
				return nil, cut(err)
			}
			if b == 0x00 || (b >= 0xD0 && b <= 0xD7) {
				buf = append(buf, 0xFF, b)
				continue
			}
			marker, have = b, true
			break
		}
	}
}

// findSOI skips to the next FF D8, consuming it. A stream that ends
// before any byte of a new image is io.EOF.
func (m *MJPEGReader) findSOI(max int) error {
	m.skipped = 0
	for {
		b, err := m.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if m.n == 0 && m.skipped == 0 {
					return fmt.Errorf("%w: empty MJPEG stream", ErrFormat)
				}
				if m.n == 0 {
					return fmt.Errorf("%w: no JPEG image in the stream", ErrFormat)
				}
				return io.EOF
			}
			return fmt.Errorf("mjpeg frame %d: %w", m.n, err)
		}
		if b == 0xFF {
			next, err := m.r.Peek(1)
			if err == nil && next[0] == 0xD8 {
				m.r.ReadByte()
				return nil
			}
		}
		m.skipped++
		if m.skipped > max || (m.n == 0 && m.skipped > 1<<16) {
			return fmt.Errorf("%w: no JPEG image within %d bytes", ErrFormat, m.skipped)
		}
	}
}

// MJPEGWriter writes frames as concatenated JPEG images (ffmpeg reads them
// with -f mjpeg). It is not safe for concurrent use.
type MJPEGWriter struct {
	w    *bufio.Writer
	opts jpeg.Options
}

// NewMJPEGWriter returns a writer of JPEG frames at the given quality
// (1-100; 0 means 90).
func NewMJPEGWriter(w io.Writer, quality int) *MJPEGWriter {
	if quality <= 0 {
		quality = 90
	}
	return &MJPEGWriter{w: bufio.NewWriterSize(w, 1<<16), opts: jpeg.Options{Quality: min(quality, 100)}}
}

// Write encodes img as one JPEG image.
func (m *MJPEGWriter) Write(img image.Image) error {
	return jpeg.Encode(m.w, img, &m.opts)
}

// Flush writes any buffered data.
func (m *MJPEGWriter) Flush() error { return m.w.Flush() }

// Writer is a video stream writer: Y4MWriter or MJPEGWriter.
type Writer interface {
	Write(img image.Image) error
	Flush() error
}
