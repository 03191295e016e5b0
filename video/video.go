// Package video reads and writes the two raw video streams ffmpeg and
// network cameras speak through pipes, and runs a detector over their
// frames in a pipeline.
//
//   - YUV4MPEG2 (y4m, ffmpeg's -f yuv4mpegpipe): progressive 4:2:0 (the
//     420jpeg, 420paldv, 420mpeg2 and plain 420 siting variants), 4:2:2,
//     4:4:4 and mono. Frames come out as *image.YCbCr over the bytes read
//     (no colour conversion) or *image.Gray for mono. Interlaced streams
//     are refused with ErrInterlaced.
//   - MJPEG: concatenated JPEG images (ffmpeg's -f mjpeg) and HTTP camera
//     streams (multipart/x-mixed-replace), split on the JPEG structure
//     itself, so the multipart boundaries and part headers between images
//     are skipped whatever their spelling.
//
// Every size is checked against Limits before a buffer is allocated, and a
// stream that breaks off gives ErrTruncated after the frames before the
// break. Process runs a per-frame function on several frames at once and
// hands the results back in frame order, with a bound on the frames in
// flight. The package formats no output and knows nothing of flags.
package video

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
)

// Errors callers branch on; the errors returned wrap them.
var (
	// ErrFormat reports a stream that is not (or stops being) y4m or MJPEG.
	ErrFormat = errors.New("video: bad stream")
	// ErrUnsupported reports a valid stream using a feature this package
	// does not read (a y4m colorspace such as 411 or 10-bit).
	ErrUnsupported = errors.New("video: unsupported stream")
	// ErrInterlaced reports an interlaced y4m stream.
	ErrInterlaced = errors.New("video: interlaced video is not supported")
	// ErrTooLarge reports a frame over Limits.
	ErrTooLarge = errors.New("video: frame too large")
	// ErrTruncated reports a stream that ends in the middle of a frame.
	ErrTruncated = errors.New("video: stream ends mid-frame")
	// ErrTimeout reports a camera that did not answer or stopped sending.
	ErrTimeout = errors.New("video: camera timed out")
)

// Frame is one decoded video frame.
type Frame struct {
	// Index counts frames from 0 in stream order.
	Index int
	// Time is the frame's time in seconds from the first frame: from the
	// y4m frame rate, the MJPEG reader's FPS, or the arrival time of a
	// live camera's frame.
	Time float64
	// Image is the frame: *image.YCbCr or *image.Gray for y4m, what
	// image/jpeg decodes for MJPEG.
	Image image.Image
}

// Source yields frames in order. Next returns io.EOF after the last frame.
type Source interface {
	Next() (*Frame, error)
}

// DefaultMaxPixels is the frame size limit used when Limits.MaxPixels is
// zero: 50 megapixels, the same as for still images.
const DefaultMaxPixels = 50_000_000

// DefaultMaxFrameBytes is the compressed frame size limit used when
// Limits.MaxFrameBytes is zero: 64 MiB.
const DefaultMaxFrameBytes = 64 << 20

// Limits bounds what the readers accept. The zero value means the
// defaults.
type Limits struct {
	// MaxPixels caps width*height, checked from the stream or JPEG header
	// before a frame is allocated; 0 means DefaultMaxPixels.
	MaxPixels int64
	// MaxFrameBytes caps one MJPEG frame's compressed bytes and the junk
	// skipped between two frames; 0 means DefaultMaxFrameBytes.
	MaxFrameBytes int
}

func (l Limits) check(w, h int) error {
	max := l.MaxPixels
	if max <= 0 {
		max = DefaultMaxPixels
	}
	if int64(w)*int64(h) > max {
		return fmt.Errorf("%w: %dx%d is over %d pixels", ErrTooLarge, w, h, max)
	}
	return nil
}

func (l Limits) frameBytes() int {
	if l.MaxFrameBytes <= 0 {
		return DefaultMaxFrameBytes
	}
	return l.MaxFrameBytes
}

// Format names a stream format.
type Format string

// The stream formats Open recognises.
const (
	Y4M   Format = "y4m"
	MJPEG Format = "mjpeg"
)

// Sniff tells y4m from MJPEG by the first bytes of br, without consuming
// them. Anything else is ErrFormat.
func Sniff(br *bufio.Reader) (Format, error) {
	head, err := br.Peek(len(y4mMagic))
	if len(head) >= 2 && head[0] == 0xFF && head[1] == 0xD8 {
		return MJPEG, nil
	}
	if bytes.Equal(head, []byte(y4mMagic)) {
		return Y4M, nil
	}
	if len(head) == 0 && err != nil {
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("%w: empty input", ErrFormat)
		}
		return "", err
	}
	return "", fmt.Errorf("%w: not a video stream (want YUV4MPEG2 or MJPEG, input starts %q)", ErrFormat, head)
}

// Stream is a Source opened by Open, with its format and, for y4m, its
// header.
type Stream struct {
	Source
	Format Format
	// Y4M is the y4m stream header (zero for MJPEG).
	Y4M Header
}

// Open sniffs r's format and returns a reader of its frames. fps sets the
// frame times of MJPEG input (see MJPEGReader.FPS); y4m carries its own.
func Open(r io.Reader, lim Limits, fps float64) (*Stream, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 1<<16)
	}
	f, err := Sniff(br)
	if err != nil {
		return nil, err
	}
	if f == MJPEG {
		m := NewMJPEGReader(br, lim)
		m.FPS = fps
		return &Stream{Source: m, Format: MJPEG}, nil
	}
	y, err := NewY4MReader(br, lim)
	if err != nil {
		return nil, err
	}
	return &Stream{Source: y, Format: Y4M, Y4M: y.Header()}, nil
}

// toGray converts any image to *image.Gray at the origin.
func toGray(img image.Image) *image.Gray {
	b := img.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			g.Pix[y*g.Stride+x] = color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y
		}
	}
	return g
}

// toYCbCr converts any image to an *image.YCbCr at the origin with the
// given subsampling. Chroma comes from the top-left pixel of each block.
func toYCbCr(img image.Image, ratio image.YCbCrSubsampleRatio) *image.YCbCr {
	b := img.Bounds()
	m := image.NewYCbCr(image.Rect(0, 0, b.Dx(), b.Dy()), ratio)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			c := color.YCbCrModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.YCbCr)
			m.Y[m.YOffset(x, y)] = c.Y
			firstX := ratio == image.YCbCrSubsampleRatio444 || x%2 == 0
			firstY := ratio != image.YCbCrSubsampleRatio420 || y%2 == 0
			if firstX && firstY {
				ci := m.COffset(x, y)
				m.Cb[ci], m.Cr[ci] = c.Cb, c.Cr
			}
		}
	}
	return m
}
