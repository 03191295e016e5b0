// Package imageio decodes untrusted images for the CLI and the HTTP
// server: it sniffs the format from the content, caps input bytes and
// pixel count before any pixel buffer is allocated, classifies failures
// into a few sentinel errors, and applies the JPEG EXIF orientation.
//
// Pixels are returned as the decoder stores them (no premultiplication,
// no colour conversion) because the detector reads stored colour and
// ignores alpha.
package imageio

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"os"

	// Registered for image.Decode's content sniffing.
	_ "image/gif"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	// Registered for image.Decode's content sniffing.
	_ "golang.org/x/image/webp"
)

// DefaultMaxPixels is the pixel cap used when Limits.MaxPixels is zero:
// 50 megapixels.
const DefaultMaxPixels = 50_000_000

// Limits bounds what Decode accepts. The zero value means the defaults.
type Limits struct {
	// MaxPixels caps width*height, checked from the header before
	// decoding; 0 means DefaultMaxPixels.
	MaxPixels int64
	// MaxBytes caps the bytes read from the input; 0 means no cap here,
	// since the HTTP layer caps request bodies itself.
	MaxBytes int64
}

// ErrTooLarge reports an image over the pixel cap or an input over the
// byte cap.
var ErrTooLarge = errors.New("imageio: image too large")

// ErrUnsupported reports input that is not an image in a supported
// format, or uses a feature of that format the decoder lacks.
var ErrUnsupported = errors.New("imageio: unsupported image format")

// ErrNotBuilt reports an image in a format this build leaves out (HEIC
// and AVIF with -tags noheif); errors wrapping it also wrap
// ErrUnsupported.
var ErrNotBuilt = errors.New("not supported in this build")

// ErrCorrupt reports input in a known format whose data is truncated or
// malformed.
var ErrCorrupt = errors.New("imageio: corrupt image data")

// Decode reads one image from r. The format is sniffed from the content,
// never from a file name. The header is read first and an image whose
// width*height exceeds lim's pixel cap is rejected with ErrTooLarge before
// its pixels are decoded. JPEG images are turned upright according to
// their EXIF orientation; other formats are returned as stored. GIF
// yields its first frame. The second result is the format name: "jpeg",
// "png", "gif", "bmp", "tiff" or "webp".
//
// Errors wrap ErrTooLarge, ErrUnsupported, ErrCorrupt or, for empty
// input, ErrEmpty, except failures of r itself, which are wrapped as they
// are. The header checks are DecodeHeader's.
func Decode(r io.Reader, lim Limits) (image.Image, string, error) {
	data, err := readAll(r, lim.MaxBytes)
	if err != nil {
		return nil, "", err
	}
	return decodeBytes(data, lim)
}

// DecodeFile opens path and decodes it like Decode; errors name the path.
func DecodeFile(path string, lim Limits) (image.Image, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("imageio: %w", err)
	}
	defer f.Close()
	img, format, err := Decode(f, lim)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return img, format, nil
}

// readAll buffers the whole input because image.DecodeConfig consumes
// the header and Decode must start over from the first byte.
func readAll(r io.Reader, maxBytes int64) ([]byte, error) {
	if maxBytes <= 0 {
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("imageio: reading input: %w", err)
		}
		return data, nil
	}
	// One byte past the cap tells an input of exactly maxBytes from a
	// longer one.
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("imageio: reading input: %w", err)
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("%w: input exceeds the cap of %d bytes", ErrTooLarge, maxBytes)
	}
	return data, nil
}

// orienters turn a decoded image of a format upright from its encoded
// data; decodeBytes consults it by format name. heif.go fills it.
var orienters = map[string]func(data []byte, img image.Image) image.Image{}

func decodeBytes(data []byte, lim Limits) (image.Image, string, error) {
	hd, err := DecodeHeader(data, lim)
	if err != nil {
		return nil, "", err
	}
	format := hd.Format
	var img image.Image
	err = guard(func() (err error) {
		img, _, err = image.Decode(bytes.NewReader(data))
		return err
	})
	if err != nil {
		return nil, "", corrupt(fmt.Errorf("decoding %s: %w", format, err))
	}
	if format == "jpeg" {
		img = Orient(img, Orientation(data))
	}
	if orient := orienters[format]; orient != nil { // HEIF formats, see heif.go
		img = orient(data, img)
	}
	return img, format, nil
}

// panicError carries a recovered decoder panic, so that the fuzz tests
// can tell one apart from an ordinary corrupt-data error.
type panicError struct{ v any }

func (e *panicError) Error() string { return fmt.Sprintf("decoder panicked: %v", e.v) }

// guard turns a decoder panic into an error because the decoders parse
// hostile input and one bad upload must not take the server down.
func guard(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{v: p}
		}
	}()
	return fn()
}

// classify maps a header (DecodeConfig) error to a sentinel.
func classify(err error) error {
	if errors.Is(err, image.ErrFormat) {
		return fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	return corrupt(err)
}

// corrupt maps an error from a decoder that recognised its format: an
// unsupported feature stays ErrUnsupported, anything else is ErrCorrupt.
func corrupt(err error) error {
	if isUnsupported(err) {
		return fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	return fmt.Errorf("%w: %w", ErrCorrupt, err)
}

func isUnsupported(err error) bool {
	var (
		je jpeg.UnsupportedError
		pe png.UnsupportedError
		te tiff.UnsupportedError
	)
	return errors.As(err, &je) || errors.As(err, &pe) || errors.As(err, &te) ||
		errors.Is(err, bmp.ErrUnsupported) || errors.Is(err, ErrNotBuilt)
}
