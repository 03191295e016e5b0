package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
)

// ErrEmpty reports an input of zero bytes. The CLI and the HTTP server
// both report it with its own message.
var ErrEmpty = errors.New("no image: the input is empty")

// Header is what an image's header tells before any pixel is decoded.
type Header struct {
	// Format is the format's name, as Decode returns it.
	Format string
	// Width and Height are the stored size in pixels, before any EXIF
	// orientation is applied.
	Width, Height int
	// ColorModel is the colour model the decoder will return.
	ColorModel color.Model
	// Orientation is the EXIF orientation of a JPEG (1 to 8), and 1 for
	// every other format.
	Orientation int

	// samples is, for a JPEG whose frame header was found, the number of
	// stored samples over all components (chroma subsampling counted);
	// 0 otherwise.
	samples int64
	// components is a JPEG's component count (0 when not found).
	components int
	// progressive and interlaced mark a progressive JPEG and an
	// interlaced PNG, which their decoders hold extra buffers for.
	progressive, interlaced bool
}

// DecodeHeader reads the header of the image in data and applies lim's
// pixel cap: an image of more than lim.MaxPixels pixels (DefaultMaxPixels
// when 0) is refused with ErrTooLarge, whatever its format, including
// headers whose size overflows the decoder's own arithmetic (a PNG or BMP
// claiming 2147483647 x 2147483647 pixels is too large, not corrupt).
// Empty input is refused with ErrEmpty, other failures with ErrUnsupported
// or ErrCorrupt. lim.MaxBytes is not applied: data is already read.
func DecodeHeader(data []byte, lim Limits) (Header, error) {
	maxPixels := lim.MaxPixels
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	if len(data) == 0 {
		return Header{}, ErrEmpty
	}
	var cfg image.Config
	var format string
	err := guard(func() (err error) {
		cfg, format, err = image.DecodeConfig(bytes.NewReader(data))
		return err
	})
	if err != nil {
		// A decoder may refuse a size its own arithmetic cannot hold
		// before the cap is applied; such an image is too large, not
		// broken.
		if f, w, h, ok := rawSize(data); ok && tooLarge(w, h, maxPixels) {
			return Header{}, fmt.Errorf("%w: %s header gives %dx%d, which exceeds the cap of %d pixels", ErrTooLarge, f, w, h, maxPixels)
		}
		return Header{}, classify(err)
	}
	w, h := int64(cfg.Width), int64(cfg.Height)
	if w <= 0 || h <= 0 {
		return Header{}, fmt.Errorf("%w: %s header gives size %dx%d", ErrCorrupt, format, w, h)
	}
	if tooLarge(w, h, maxPixels) {
		return Header{}, fmt.Errorf("%w: %dx%d exceeds the cap of %d pixels", ErrTooLarge, w, h, maxPixels)
	}
	hd := Header{Format: format, Width: cfg.Width, Height: cfg.Height, ColorModel: cfg.ColorModel, Orientation: 1}
	switch format {
	case "jpeg":
		hd.Orientation = Orientation(data)
		hd.samples, hd.components, hd.progressive = jpegFrame(data, cfg.Width, cfg.Height)
	case "png":
		hd.interlaced = len(data) > 28 && data[28] == 1
	}
	return hd, nil
}

// tooLarge reports whether w*h exceeds maxPixels, without overflow.
func tooLarge(w, h, maxPixels int64) bool {
	return w > maxPixels || h > maxPixels/w
}

// rawSize reads the size fields of a PNG or BMP header directly, for
// headers the decoders refuse.
func rawSize(data []byte) (format string, w, h int64, ok bool) {
	switch {
	case len(data) >= 24 && string(data[:8]) == "\x89PNG\r\n\x1a\n" && string(data[12:16]) == "IHDR":
		w, h = int64(binary.BigEndian.Uint32(data[16:])), int64(binary.BigEndian.Uint32(data[20:]))
		return "png", w, h, w > 0 && h > 0
	case len(data) >= 26 && string(data[:2]) == "BM":
		w, h = int64(int32(binary.LittleEndian.Uint32(data[18:]))), int64(int32(binary.LittleEndian.Uint32(data[22:])))
		// A negative height marks a top-down bitmap.
		return "bmp", abs(w), abs(h), w != 0 && h != 0
	}
	return "", 0, 0, false
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// jpegFrame reads a JPEG's frame header (SOF0 to SOF2) for its sample
// count over all components, its component count and whether it is
// progressive. It returns zeros when no usable frame header is found.
func jpegFrame(d []byte, w, h int) (samples int64, components int, progressive bool) {
	i := 2
	for i+4 <= len(d) {
		if d[i] != 0xFF {
			return 0, 0, false
		}
		m := d[i+1]
		if m == 0xFF { // fill byte
			i++
			continue
		}
		if m == markerSOI || m == markerTEM || (m >= 0xD0 && m <= 0xD7) {
			i += 2
			continue
		}
		if m == markerSOS || m == markerEOI {
			return 0, 0, false
		}
		n := int(binary.BigEndian.Uint16(d[i+2:]))
		if n < 2 || i+2+n > len(d) {
			return 0, 0, false
		}
		if m >= 0xC0 && m <= 0xC2 {
			seg := d[i+4 : i+2+n]
			if len(seg) < 6 {
				return 0, 0, false
			}
			nc := int(seg[5])
			if nc < 1 || len(seg) < 6+3*nc {
				return 0, 0, false
			}
			hmax, vmax := 1, 1
			for c := range nc {
				s := seg[6+3*c+1]
				hmax, vmax = max(hmax, int(s>>4)), max(vmax, int(s&15))
			}
			for c := range nc {
				s := seg[6+3*c+1]
				hs, vs := max(int(s>>4), 1), max(int(s&15), 1)
				cw := (int64(w)*int64(hs) + int64(hmax) - 1) / int64(hmax)
				ch := (int64(h)*int64(vs) + int64(vmax) - 1) / int64(vmax)
				samples += cw * ch
			}
			return samples, nc, m == 0xC2
		}
		i += 2 + n
	}
	return 0, 0, false
}

// DecodedBytes estimates the bytes Decode allocates for this image: the
// pixel buffer the decoder returns, the decoder's own large buffers
// (progressive JPEG coefficients, interlaced PNG passes, CMYK
// conversion) and, for an image with an EXIF orientation other than 1,
// the turned copy. It does not count the encoded input, which the caller
// holds. The estimate errs on the high side.
func (hd Header) DecodedBytes() int64 {
	px := int64(hd.Width) * int64(hd.Height)
	var n int64
	switch {
	case hd.Format == "jpeg" && hd.samples > 0:
		n = hd.samples
		if hd.progressive {
			n += 4 * hd.samples // one int32 coefficient per sample
		}
		if hd.components == 4 {
			n += 4 * px // the CMYK result beside the planes
		}
	case hd.Format == "jpeg":
		n = 3 * px // no frame header found: as for 4:4:4
	default:
		n = int64(bytesPerPixel(hd.ColorModel) * float64(px))
		if hd.interlaced {
			n *= 2 // the passes, then the whole image
		}
	}
	if hd.Orientation > 1 {
		// Orient writes the turned image in one pass beside the decoded
		// one: Gray stays Gray, YCbCr becomes YCbCr 4:4:4, anything else
		// becomes NRGBA.
		switch {
		case hd.ColorModel == color.GrayModel:
			n += px
		case hd.ColorModel == color.YCbCrModel && hd.components != 4:
			n += 3 * px
		default:
			n += 4 * px
		}
	}
	return n
}

// bytesPerPixel is the size per pixel of the image type a decoder returns
// for colour model m; unknown models count as 8 bytes.
func bytesPerPixel(m color.Model) float64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel:
		return 4
	case color.YCbCrModel:
		return 3 // 4:4:4 at worst
	case color.NYCbCrAModel:
		return 4
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8
}
