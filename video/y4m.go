package video

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"strconv"
	"strings"
)

// y4mMagic starts every YUV4MPEG2 stream.
const y4mMagic = "YUV4MPEG2"

// maxLine bounds a stream or frame header line; real ones are under 100
// bytes.
const maxLine = 1024

// Colorspace is a YUV4MPEG2 chroma layout (the header's C parameter).
type Colorspace string

// The layouts Y4MReader reads and Y4MWriter writes. The three 4:2:0
// variants differ only in where the chroma samples sit, which
// image.YCbCr does not record: all three read as
// image.YCbCrSubsampleRatio420.
const (
	C420jpeg   Colorspace = "420jpeg" // 4:2:0, chroma centred (JPEG, MPEG-1); the default without a C parameter
	C420paldv  Colorspace = "420paldv"
	C420mpeg2  Colorspace = "420mpeg2"
	C420       Colorspace = "420" // what ffmpeg writes for yuv420p
	C422       Colorspace = "422"
	C444       Colorspace = "444"
	CMono      Colorspace = "mono" // luma only: frames are *image.Gray
	cspDefault            = C420jpeg
)

// ratio returns the layout's chroma subsampling, and whether it has chroma
// planes at all.
func (c Colorspace) ratio() (image.YCbCrSubsampleRatio, bool, error) {
	switch c {
	case C420jpeg, C420paldv, C420mpeg2, C420:
		return image.YCbCrSubsampleRatio420, true, nil
	case C422:
		return image.YCbCrSubsampleRatio422, true, nil
	case C444:
		return image.YCbCrSubsampleRatio444, true, nil
	case CMono:
		return 0, false, nil
	}
	return 0, false, fmt.Errorf("%w: y4m colorspace %q (supported: 420jpeg, 420paldv, 420mpeg2, 420, 422, 444, mono)", ErrUnsupported, string(c))
}

// Header is a YUV4MPEG2 stream header.
type Header struct {
	Width, Height int
	// FPSNum/FPSDen is the frame rate (F parameter); 0/0 when absent.
	FPSNum, FPSDen int
	// AspectNum:AspectDen is the pixel aspect ratio (A parameter); 0:0
	// when absent or unknown.
	AspectNum, AspectDen int
	// Colorspace is the chroma layout; C420jpeg when absent.
	Colorspace Colorspace
	// Extra holds the X parameters (and any other unknown ones) verbatim,
	// so a writer can pass them on.
	Extra []string
}

// FrameSize is the bytes of one frame's planes.
func (h Header) FrameSize() int64 {
	w, hh := int64(h.Width), int64(h.Height)
	y := w * hh
	switch h.Colorspace {
	case CMono:
		return y
	case C422:
		return y + 2*((w+1)/2)*hh
	case C444:
		return 3 * y
	}
	return y + 2*((w+1)/2)*((hh+1)/2)
}

// String returns the header line without its newline, as written to a
// stream.
func (h Header) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s W%d H%d", y4mMagic, h.Width, h.Height)
	if h.FPSNum > 0 && h.FPSDen > 0 {
		fmt.Fprintf(&b, " F%d:%d", h.FPSNum, h.FPSDen)
	}
	b.WriteString(" Ip")
	if h.AspectNum > 0 && h.AspectDen > 0 {
		fmt.Fprintf(&b, " A%d:%d", h.AspectNum, h.AspectDen)
	}
	c := h.Colorspace
	if c == "" {
		c = cspDefault
	}
	fmt.Fprintf(&b, " C%s", c)
	for _, x := range h.Extra {
		b.WriteString(" " + x)
	}
	return b.String()
}

// FPS is the frame rate as a float, or 0 when the header gives none.
func (h Header) FPS() float64 {
	if h.FPSNum <= 0 || h.FPSDen <= 0 {
		return 0
	}
	return float64(h.FPSNum) / float64(h.FPSDen)
}

// Y4MReader reads frames from a YUV4MPEG2 stream (progressive only). Frames
// of the 4:2:0, 4:2:2 and 4:4:4 layouts are *image.YCbCr whose planes are
// the stream's bytes as read (no conversion); mono frames are *image.Gray.
// A Y4MReader is not safe for concurrent use.
type Y4MReader struct {
	r      *bufio.Reader
	h      Header
	ratio  image.YCbCrSubsampleRatio
	chroma bool
	n      int
	err    error
}

// NewY4MReader reads the stream header from r and returns a reader for its
// frames. The header is refused (ErrFormat, ErrUnsupported, ErrInterlaced
// or ErrTooLarge) before any frame buffer is allocated; lim bounds the
// frame size.
func NewY4MReader(r io.Reader, lim Limits) (*Y4MReader, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 1<<16)
	}
	line, err := readLine(br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty stream, expected a YUV4MPEG2 header", ErrFormat)
		}
		return nil, fmt.Errorf("%w: y4m header: %w", ErrFormat, err)
	}
	h, err := ParseY4MHeader(line)
	if err != nil {
		return nil, err
	}
	if err := lim.check(h.Width, h.Height); err != nil {
		return nil, err
	}
	ratio, chroma, err := h.Colorspace.ratio()
	if err != nil {
		return nil, err
	}
	return &Y4MReader{r: br, h: h, ratio: ratio, chroma: chroma}, nil
}

// ParseY4MHeader parses a stream header line (without its newline).
func ParseY4MHeader(line string) (Header, error) {
	var h Header
	fields := strings.Split(line, " ")
	if fields[0] != y4mMagic {
		return h, fmt.Errorf("%w: not a YUV4MPEG2 stream (starts %q)", ErrFormat, clip(line, 16))
	}
	h.Colorspace = cspDefault
	seenW, seenH := false, false
	for _, f := range fields[1:] {
		if f == "" {
			continue
		}
		v := f[1:]
		switch f[0] {
		case 'W':
			n, err := positive(v)
			if err != nil {
				return h, fmt.Errorf("%w: y4m width %q: %w", ErrFormat, v, err)
			}
			h.Width, seenW = n, true
		case 'H':
			n, err := positive(v)
			if err != nil {
				return h, fmt.Errorf("%w: y4m height %q: %w", ErrFormat, v, err)
			}
			h.Height, seenH = n, true
		case 'F':
			num, den, err := ratioParam(v)
			if err != nil || num <= 0 || den <= 0 {
				return h, fmt.Errorf("%w: y4m frame rate %q", ErrFormat, v)
			}
			h.FPSNum, h.FPSDen = num, den
		case 'A':
			num, den, err := ratioParam(v)
			if err != nil {
				return h, fmt.Errorf("%w: y4m pixel aspect %q", ErrFormat, v)
			}
			h.AspectNum, h.AspectDen = num, den
		case 'I':
			switch v {
			case "p", "?", "":
			case "t", "b", "m":
				return h, fmt.Errorf("%w: y4m stream is interlaced (I%s); deinterlace first, e.g. ffmpeg -vf yadif", ErrInterlaced, v)
			default:
				return h, fmt.Errorf("%w: y4m interlacing %q", ErrFormat, v)
			}
		case 'C':
			h.Colorspace = Colorspace(v)
		default:
			h.Extra = append(h.Extra, f)
		}
	}
	if !seenW || !seenH {
		return h, fmt.Errorf("%w: y4m header without W and H", ErrFormat)
	}
	if _, _, err := h.Colorspace.ratio(); err != nil {
		return h, err
	}
	return h, nil
}

// Header returns the stream header.
func (y *Y4MReader) Header() Header { return y.h }

// Next reads the next frame. It returns io.EOF after the last complete
// frame; a frame cut short gives an error wrapping ErrTruncated (the
// frames before it were returned). After an error Next keeps returning it.
func (y *Y4MReader) Next() (*Frame, error) {
	if y.err != nil {
		return nil, y.err
	}
	f, err := y.next()
	if err != nil {
		y.err = err
		return nil, err
	}
	y.n++
	return f, nil
}

func (y *Y4MReader) next() (*Frame, error) {
	line, err := readLine(y.r)
	if err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: y4m frame %d header cut short", ErrTruncated, y.n)
		}
		return nil, fmt.Errorf("y4m frame %d: %w", y.n, err)
	}
	if line != "FRAME" && !strings.HasPrefix(line, "FRAME ") {
		return nil, fmt.Errorf("%w: y4m frame %d starts %q, not FRAME", ErrFormat, y.n, clip(line, 16))
	}
	img := y.newImage()
	var planes [][]byte
	switch m := img.(type) {
	case *image.YCbCr:
		planes = [][]byte{m.Y, m.Cb, m.Cr}
	case *image.Gray:
		planes = [][]byte{m.Pix}
	}
	for _, p := range planes {
		if _, err := io.ReadFull(y.r, p); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("%w: y4m frame %d ends early", ErrTruncated, y.n)
			}
			return nil, fmt.Errorf("y4m frame %d: %w", y.n, err)
		}
	}
	f := &Frame{Index: y.n, Image: img}
	if fps := y.h.FPS(); fps > 0 {
		f.Time = float64(y.n) * float64(y.h.FPSDen) / float64(y.h.FPSNum)
	}
	return f, nil
}

func (y *Y4MReader) newImage() image.Image {
	r := image.Rect(0, 0, y.h.Width, y.h.Height)
	if !y.chroma {
		return image.NewGray(r)
	}
	return image.NewYCbCr(r, y.ratio)
}

// readLine reads one '\n'-terminated line of at most maxLine bytes and
// returns it without the newline. A clean end before any byte is io.EOF;
// an end within the line is io.ErrUnexpectedEOF.
func readLine(r *bufio.Reader) (string, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxLine {
			return "", fmt.Errorf("%w: header line longer than %d bytes", ErrFormat, maxLine)
		}
		switch {
		case err == nil:
			return string(bytes.TrimSuffix(buf, []byte("\n"))), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(buf) == 0 {
				return "", io.EOF
			}
			return "", io.ErrUnexpectedEOF
		default:
			return "", err
		}
	}
}

func positive(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, err
	}
	if n <= 0 {
		return 0, errors.New("must be positive")
	}
	return n, nil
}

func ratioParam(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, errors.New("want num:den")
	}
	num, err := strconv.Atoi(a)
	if err != nil || num < 0 {
		return 0, 0, errors.New("bad numerator")
	}
	den, err := strconv.Atoi(b)
	if err != nil || den < 0 {
		return 0, 0, errors.New("bad denominator")
	}
	return num, den, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Y4MWriter writes frames as a YUV4MPEG2 stream. It is not safe for
// concurrent use.
type Y4MWriter struct {
	w     *bufio.Writer
	h     Header
	ratio image.YCbCrSubsampleRatio
	mono  bool
	wrote bool
}

// NewY4MWriter returns a writer of frames in h's size and layout; the
// header is written with the first frame (or by Flush).
func NewY4MWriter(w io.Writer, h Header) (*Y4MWriter, error) {
	if h.Colorspace == "" {
		h.Colorspace = cspDefault
	}
	if h.Width <= 0 || h.Height <= 0 {
		return nil, fmt.Errorf("%w: y4m writer size %dx%d", ErrFormat, h.Width, h.Height)
	}
	ratio, chroma, err := h.Colorspace.ratio()
	if err != nil {
		return nil, err
	}
	return &Y4MWriter{w: bufio.NewWriterSize(w, 1<<16), h: h, ratio: ratio, mono: !chroma}, nil
}

func (y *Y4MWriter) header() error {
	if y.wrote {
		return nil
	}
	y.wrote = true
	_, err := y.w.WriteString(y.h.String() + "\n")
	return err
}

// Write writes one frame. An *image.YCbCr in the writer's layout (or an
// *image.Gray for mono) of the header's size is written as stored; any
// other image of that size is converted (BT.601 full range, as
// image/color does, chroma taken from the top-left sample of each block).
func (y *Y4MWriter) Write(img image.Image) error {
	b := img.Bounds()
	if b.Dx() != y.h.Width || b.Dy() != y.h.Height {
		return fmt.Errorf("y4m writer: frame is %dx%d, stream is %dx%d", b.Dx(), b.Dy(), y.h.Width, y.h.Height)
	}
	if err := y.header(); err != nil {
		return err
	}
	if _, err := y.w.WriteString("FRAME\n"); err != nil {
		return err
	}
	if y.mono {
		g, ok := img.(*image.Gray)
		if !ok || g.Rect.Min != (image.Point{}) {
			g = toGray(img)
		}
		return writePlane(y.w, g.Pix, g.Stride, 0, 0, y.h.Width, y.h.Height)
	}
	m, ok := img.(*image.YCbCr)
	if !ok || m.SubsampleRatio != y.ratio || m.Rect.Min != (image.Point{}) {
		m = toYCbCr(img, y.ratio)
	}
	cw, ch := chromaSize(y.ratio, y.h.Width, y.h.Height)
	if err := writePlane(y.w, m.Y, m.YStride, 0, 0, y.h.Width, y.h.Height); err != nil {
		return err
	}
	if err := writePlane(y.w, m.Cb, m.CStride, 0, 0, cw, ch); err != nil {
		return err
	}
	return writePlane(y.w, m.Cr, m.CStride, 0, 0, cw, ch)
}

// Flush writes the header if no frame was written, and any buffered data.
func (y *Y4MWriter) Flush() error {
	if err := y.header(); err != nil {
		return err
	}
	return y.w.Flush()
}

func writePlane(w io.Writer, pix []byte, stride, x0, y0, width, height int) error {
	for r := 0; r < height; r++ {
		off := (y0+r)*stride + x0
		if _, err := w.Write(pix[off : off+width]); err != nil {
			return err
		}
	}
	return nil
}

func chromaSize(r image.YCbCrSubsampleRatio, w, h int) (int, int) {
	switch r {
	case image.YCbCrSubsampleRatio420:
		return (w + 1) / 2, (h + 1) / 2
	case image.YCbCrSubsampleRatio422:
		return (w + 1) / 2, h
	}
	return w, h
}
