package imageio

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
)

const (
	markerSOI  = 0xD8
	markerEOI  = 0xD9
	markerSOS  = 0xDA
	markerAPP1 = 0xE1
	markerTEM  = 0x01

	tagOrientation = 0x0112
	typeShort      = 3
)

var exifHeader = []byte("Exif\x00\x00")

// Orientation returns the EXIF orientation (1 to 8) of JPEG data, or 1
// when the data has no EXIF orientation or it cannot be parsed. It never
// panics, whatever the input.
func Orientation(jpegData []byte) int {
	d := jpegData
	if len(d) < 2 || d[0] != 0xFF || d[1] != markerSOI {
		return 1
	}
	i := 2
	for {
		// Markers may be preceded by any number of 0xFF fill bytes.
		if i >= len(d) || d[i] != 0xFF {
			return 1
		}
		for i < len(d) && d[i] == 0xFF {
			i++
		}
		if i >= len(d) {
			return 1
		}
		m := d[i]
		i++
		switch {
		case m == markerSOS || m == markerEOI:
			// EXIF must come before the scan data; past here is entropy-coded.
			return 1
		case m == markerSOI || m == markerTEM || (m >= 0xD0 && m <= 0xD7):
			continue // standalone markers carry no length
		}
		if i+2 > len(d) {
			return 1
		}
		n := int(binary.BigEndian.Uint16(d[i:]))
		if n < 2 || i+n > len(d) {
			return 1
		}
		seg := d[i+2 : i+n]
		i += n
		if m == markerAPP1 && bytes.HasPrefix(seg, exifHeader) {
			// Only the first EXIF block counts; later APP1s are XMP or junk.
			return tiffOrientation(seg[len(exifHeader):])
		}
	}
}

// tiffOrientation reads tag 0x0112 from IFD0 of a TIFF-structured EXIF
// block.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(t[2:]) != 42 {
		return 1
	}
	// uint64 so that an offset near 4 GiB cannot wrap around.
	off := uint64(bo.Uint32(t[4:]))
	if off+2 > uint64(len(t)) {
		return 1
	}
	count := uint64(bo.Uint16(t[off:]))
	entries := off + 2
	for k := uint64(0); k < count; k++ {
		e := entries + 12*k
		if e+12 > uint64(len(t)) {
			return 1
		}
		ent := t[e : e+12]
		if bo.Uint16(ent[0:]) != tagOrientation {
			continue
		}
		if bo.Uint16(ent[2:]) != typeShort || bo.Uint32(ent[4:]) < 1 {
			return 1
		}
		// A single SHORT sits in the first two bytes of the value field.
		v := int(bo.Uint16(ent[8:]))
		if v < 1 || v > 8 {
			return 1
		}
		return v
	}
	return 1
}

// Orient returns img transformed so that an image stored with EXIF
// orientation o (1 to 8) is upright. For o of 1 or out of range it
// returns img itself; otherwise a new image with its bounds starting at
// (0, 0) whose pixels read exactly as img's, moved: a *image.YCbCr
// becomes a 4:4:4 *image.YCbCr (3 bytes a pixel: each pixel keeps its Y,
// Cb and Cr), a *image.Gray a *image.Gray, anything else an *image.NRGBA
// with the values color.NRGBAModel gives. The pixels are moved in one
// pass, with no intermediate copy: a turned 44-megapixel phone photo
// costs its 4:2:0 planes (66 MB) and the turned planes (132 MB) at once.
func Orient(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	switch src := img.(type) {
	case *image.YCbCr:
		dst := image.NewYCbCr(image.Rect(0, 0, dw, dh), image.YCbCrSubsampleRatio444)
		for dy := 0; dy < dh; dy++ {
			yr := dst.Y[dy*dst.YStride : dy*dst.YStride+dw]
			cbr := dst.Cb[dy*dst.CStride : dy*dst.CStride+dw]
			crr := dst.Cr[dy*dst.CStride : dy*dst.CStride+dw]
			for dx := range yr {
				sx, sy := sourceOf(o, dx, dy, w, h)
				yi := src.YOffset(b.Min.X+sx, b.Min.Y+sy)
				ci := src.COffset(b.Min.X+sx, b.Min.Y+sy)
				yr[dx], cbr[dx], crr[dx] = src.Y[yi], src.Cb[ci], src.Cr[ci]
			}
		}
		return dst
	case *image.Gray:
		dst := image.NewGray(image.Rect(0, 0, dw, dh))
		for dy := 0; dy < dh; dy++ {
			row := dst.Pix[dy*dst.Stride : dy*dst.Stride+dw]
			for dx := range row {
				sx, sy := sourceOf(o, dx, dy, w, h)
				row[dx] = src.Pix[src.PixOffset(b.Min.X+sx, b.Min.Y+sy)]
			}
		}
		return dst
	case *image.NRGBA:
		dst := image.NewNRGBA(image.Rect(0, 0, dw, dh))
		for dy := 0; dy < dh; dy++ {
			row := dst.Pix[dy*dst.Stride : dy*dst.Stride+4*dw]
			for dx := 0; dx < dw; dx++ {
				sx, sy := sourceOf(o, dx, dy, w, h)
				i := src.PixOffset(b.Min.X+sx, b.Min.Y+sy)
				copy(row[4*dx:4*dx+4], src.Pix[i:i+4])
			}
		}
		return dst
	}
	dst := image.NewNRGBA(image.Rect(0, 0, dw, dh))
	for dy := 0; dy < dh; dy++ {
		for dx := 0; dx < dw; dx++ {
			sx, sy := sourceOf(o, dx, dy, w, h)
			dst.SetNRGBA(dx, dy, color.NRGBAModel.Convert(img.At(b.Min.X+sx, b.Min.Y+sy)).(color.NRGBA))
		}
	}
	return dst
}

// sourceOf maps a pixel of the upright image back to where an image with
// orientation o stored it; w and h are the stored size.
func sourceOf(o, dx, dy, w, h int) (sx, sy int) {
	switch o {
	case 2: // mirrored horizontally
		return w - 1 - dx, dy
	case 3: // rotated 180°
		return w - 1 - dx, h - 1 - dy
	case 4: // mirrored vertically
		return dx, h - 1 - dy
	case 5: // transposed
		return dy, dx
	case 6: // needs a 90° clockwise turn
		return dy, h - 1 - dx
	case 7: // transversed
		return w - 1 - dy, h - 1 - dx
	case 8: // needs a 90° counter-clockwise turn
		return w - 1 - dy, dx
	}
	return dx, dy
}
