// Package jpegblock reads baseline and progressive JPEG files as their
// quantised DCT coefficients and writes baseline ones, so that an edit of a few regions can
// re-encode only the blocks it touches and copy every other block of the
// original verbatim (Patch): those blocks then decode to exactly the
// same pixels as before.
//
// Only Huffman-coded 8-bit JPEGs, sequential or progressive, with one
// (grey) or three (YCbCr) components are handled, with any sampling
// factors and restart intervals (a progressive file's coefficients are
// written back as a baseline file: the same pixels). Arithmetic-coded,
// lossless, hierarchical and 12-bit files, progressive files with
// sampling or restart intervals image/jpeg reads differently from T.81, CMYK and RGB-coded files, and files whose EXIF
// orientation is not 1 (their pixels must be turned, so no block can be
// kept) get an error wrapping ErrUnsupported; callers fall back to a
// whole re-encode (see WriteEdited).
//
// Everything here is safe for concurrent use: functions share no state.
package jpegblock

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors callers branch on.
var (
	// ErrUnsupported reports a JPEG this package does not handle
	// (arithmetic, 12-bit, CMYK, rotated by EXIF, ...).
	ErrUnsupported = errors.New("jpegblock: unsupported JPEG")
	// ErrCorrupt reports data that is not a well-formed JPEG.
	ErrCorrupt = errors.New("jpegblock: corrupt JPEG")
	// ErrTooLarge reports a frame over the pixel cap.
	ErrTooLarge = errors.New("jpegblock: image too large")
)

// maxProgressiveScans bounds the work a small progressive file can ask
// for (each scan walks every block of its components); encoders write
// about ten.
const maxProgressiveScans = 200

// DefaultMaxPixels is the pixel cap Parse uses when given 0.
const DefaultMaxPixels = 50_000_000

// Component is one colour component of a frame: its sampling factors,
// quantisation table and quantised coefficients.
type Component struct {
	ID   byte // component identifier from the frame header
	H, V int  // horizontal and vertical sampling factors, 1 to 4
	Tq   int  // quantisation table index, 0 to 3
	// BlocksX and BlocksY are the size of the stored block grid: whole
	// MCUs, so BlocksX = MCUsX*H and BlocksY = MCUsY*V.
	BlocksX, BlocksY int
	// Coef holds BlocksX*BlocksY blocks of 64 coefficients each, in
	// zig-zag order, blocks row by row.
	Coef []int16

	// Huffman tables this component was last coded with (nil if none).
	dc, ac *huffSpec
}

// Block returns the 64 coefficients of block (bx, by), in zig-zag order.
func (c *Component) Block(bx, by int) []int16 {
	i := (by*c.BlocksX + bx) * 64
	return c.Coef[i : i+64 : i+64]
}

// Image is a parsed baseline or progressive JPEG: frame, quantisation
// tables and coefficients. It carries no metadata.
type Image struct {
	Width, Height int
	// Quant holds the quantisation tables by index, in zig-zag order;
	// nil for indices the file does not define.
	Quant [4]*[64]uint16
	// Components are in frame order: Y (or grey) first.
	Components []Component
	// RestartInterval is the number of MCUs between restart markers, 0
	// for none.
	RestartInterval int
	// Hmax and Vmax are the largest sampling factors; an MCU is
	// 8*Hmax x 8*Vmax pixels.
	Hmax, Vmax int
	// MCUsX and MCUsY count the MCUs across and down.
	MCUsX, MCUsY int
}

// MCUSize returns the width and height of an MCU in pixels.
func (m *Image) MCUSize() (int, int) { return 8 * m.Hmax, 8 * m.Vmax }

// huffSpec is a Huffman table as a DHT segment holds it.
type huffSpec struct {
	counts [16]uint8
	syms   []byte
}

// huffDec decodes one Huffman table.
type huffDec struct {
	spec    *huffSpec
	lut     [1 << lutBits]uint16 // (length<<8 | symbol), 0 for codes longer than lutBits
	maxcode [17]int32
	valptr  [17]int32
	mincode [17]int32
}

const lutBits = 9

func corrupt(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
}

func unsupported(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, a...))
}

func newHuffDec(s *huffSpec) (*huffDec, error) {
	h := &huffDec{spec: s}
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(s.counts[l-1])
		h.valptr[l] = k
		h.mincode[l] = code
		h.maxcode[l] = -1
		if n > 0 {
			h.maxcode[l] = code + n - 1
		}
		if code+n > 1<<l {
			return nil, corrupt("Huffman table has too many codes of length %d", l)
		}
		for i := int32(0); i < n && l <= lutBits; i++ {
			c := code + i
			shift := uint(lutBits - l)
			for j := c << shift; j < (c+1)<<shift; j++ {
				h.lut[j] = uint16(l)<<8 | uint16(s.syms[k+i])
			}
		}
		code += n
		k += n
		code <<= 1
	}
	return h, nil
}

// Parse reads a baseline or progressive JPEG into its coefficients. maxPixels caps
// width*height before anything is allocated (0 means DefaultMaxPixels).
// Metadata segments are skipped. Errors wrap ErrUnsupported,
// ErrCorrupt or ErrTooLarge.
func Parse(data []byte, maxPixels int) (*Image, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil, corrupt("no SOI marker")
	}
	var (
		m       *Image
		dc, ac  [4]*huffDec
		pos     = 2
		scans   int
		adobeOK bool
		adobeT  byte
		quant   [4]*[64]uint16
		ri      int
		prog    bool
		coded   []bool // progressive: components that have had a DC scan
	)
	for {
		// Find the next marker, skipping fill bytes.
		if pos >= len(data) || data[pos] != 0xFF {
			return nil, corrupt("expected a marker at offset %d", pos)
		}
		for pos < len(data) && data[pos] == 0xFF {
			pos++
		}
		if pos >= len(data) {
			return nil, corrupt("truncated before EOI")
		}
		marker := data[pos]
		pos++
		switch {
		case marker == 0xD9: // EOI
			if m == nil || scans == 0 {
				return nil, corrupt("EOI before any scan")
			}
			if adobeOK && adobeT == 0 && len(m.Components) == 3 {
				return nil, unsupported("Adobe RGB-coded JPEG")
			}
			for i := range m.Components {
				if (!prog && m.Components[i].dc == nil) || (prog && !coded[i]) {
					return nil, corrupt("component %d never coded", i)
				}
			}
			return m, nil
		case marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7):
			continue // standalone
		case marker == 0xD8:
			return nil, corrupt("second SOI")
		}
		if pos+2 > len(data) {
			return nil, corrupt("truncated segment length")
		}
		n := int(binary.BigEndian.Uint16(data[pos:]))
		if n < 2 || pos+n > len(data) {
			return nil, corrupt("segment length %d runs past the end", n)
		}
		seg := data[pos+2 : pos+n]
		pos += n
		switch {
		case marker == 0xC0 || marker == 0xC1 || marker == 0xC2:
			if m != nil {
				return nil, corrupt("second frame header")
			}
			var err error
			if m, err = parseFrame(seg, maxPixels, len(data)); err != nil {
				return nil, err
			}
			prog = marker == 0xC2
			coded = make([]bool, len(m.Components))
		case marker == 0xC4:
			if err := parseDHT(seg, &dc, &ac); err != nil {
				return nil, err
			}
		case marker == 0xCC:
			return nil, unsupported("arithmetic coding")
		case marker >= 0xC2 && marker <= 0xCF && marker != 0xC8:
			return nil, unsupported("SOF%d frame (lossless, hierarchical or arithmetic)", marker-0xC0)
		case marker == 0xDB:
			if m != nil && scans > 0 {
				// Tables redefined between scans would need per-scan
				// tables when re-encoding.
				return nil, unsupported("quantisation table redefined after a scan")
			}
			if err := parseDQT(seg, &quant); err != nil {
				return nil, err
			}
		case marker == 0xDD:
			if len(seg) != 2 {
				return nil, corrupt("DRI length %d", len(seg))
			}
			ri = int(binary.BigEndian.Uint16(seg))
		case marker == 0xDC:
			return nil, unsupported("DNL marker")
		case marker == 0xEE:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				adobeOK, adobeT = true, seg[11]
			}
		case marker == 0xDA:
			if m == nil {
				return nil, corrupt("scan before frame header")
			}
			for i := range m.Components {
				if quant[m.Components[i].Tq] == nil {
					return nil, corrupt("component %d uses undefined quantisation table %d", i, m.Components[i].Tq)
				}
			}
			m.Quant, m.RestartInterval = quant, ri
			decode := m.decodeScan
			if prog {
				decode = func(data []byte, pos int, seg []byte, dc, ac *[4]*huffDec, ri int) (int, error) {
					return m.decodeProgScan(data, pos, seg, dc, ac, ri, coded)
				}
			}
			if prog && scans >= maxProgressiveScans {
				return nil, unsupported("more than %d progressive scans", maxProgressiveScans)
			}
			end, err := decode(data, pos, seg, &dc, &ac, ri)
			if err != nil {
				return nil, err
			}
			pos = end
			scans++
		}
		// APPn, COM and anything else: skipped.
	}
}
