package cascade

import (
	"runtime"
)

// The memory a detection needs besides the decoded image is bounded by
// construction: the pyramid levels are resized and run through P-Net in
// bands of rows (and, for very wide levels, tiles of columns), so no
// level is ever held whole, and only P-Net's candidates are kept.
const (
	// copyMaxPixels is the largest image (in pixels) whose pixels are
	// first copied to BGR bytes, 3 bytes a pixel, as the fastest way to
	// read them. Larger images are read straight from the decoded image,
	// converting only the rows a band or a crop needs.
	copyMaxPixels = 1 << 22

	// bandPixels bounds the input pixels of one P-Net band: nets runs
	// P-Net in bands of the same size, so a cascade band is one pass.
	bandPixels = 1 << 18

	// maxTileWidth bounds the width of a P-Net band: wider pyramid levels
	// run in tiles of columns.
	maxTileWidth = 8192

	// bandBytesPerPixel is what one band costs per input pixel: its
	// float32 BGR input (12 bytes) and P-Net's intermediate maps and
	// output for it (measured: see TestWorkingSetMeasured).
	bandBytesPerPixel = 12 + 96

	// refineBytes is what R-Net's and O-Net's chunks of crops need at
	// once: the crops (256 of 24x24 or 64 of 48x48, 1.8 MB) and the
	// nets' intermediate maps (3.5 and 4.3 MB).
	refineBytes = 8 << 20

	// candidateBytes is an allowance for P-Net's candidates (36 bytes
	// each) and the per-detection bookkeeping. Candidates depend on the
	// content: a photo has thousands, not millions.
	candidateBytes = 4 << 20
)

// WorkingSet returns an estimate of the bytes a detection of a w x h image
// with opts needs besides the decoded image itself: the BGR copy of a
// small image (3*w*h bytes up to 4 megapixels, none above), one P-Net
// band per concurrent pyramid level (at most GOMAXPROCS of them, each
// about 28 MB at most, less for small levels), R-Net's and O-Net's crops,
// and an allowance for the candidates. It does not grow with the image
// beyond the copy threshold: a 44-megapixel image needs about as much as
// a 5-megapixel one. Invalid options or sizes give the estimate for the
// defaults; a pyramid Detect would refuse (ErrTooLarge) gives what the
// refusal costs, which is nothing beyond the allowance.
//
// The figure is for the standard library's image types that the decoders
// return (*image.YCbCr, *image.RGBA, *image.NRGBA, *image.Gray); any
// other type is first copied to BGR whatever its size, 3*w*h bytes more.
func WorkingSet(w, h int, opts Options) int64 {
	if opts.Validate() != nil {
		opts = Options{}
	}
	opts = opts.withDefaults()
	total := int64(candidateBytes)
	if w <= 0 || h <= 0 {
		return total
	}
	if int64(w)*int64(h) <= copyMaxPixels {
		total += 3 * int64(w) * int64(h)
	}
	levels, err := pyramid(nil, h, w, opts)
	if err != nil || len(levels) == 0 {
		return total
	}
	// Levels run concurrently, largest first: the first few bands are
	// what can be in memory at once.
	workers := min(runtime.GOMAXPROCS(0), len(levels))
	for _, l := range levels[:workers] {
		tw := min(l.w, maxTileWidth)
		rows := min(l.h, 2*bandRows(tw)+10)
		total += int64(rows) * int64(tw) * bandBytesPerPixel
	}
	return total + refineBytes
}

// tileWidth is maxTileWidth, a variable so that tests can make every
// level run in tiles.
var tileWidth = maxTileWidth

// bandRows returns the P-Net output rows of one band of a tile tw pixels
// wide: as many as keep its input, 2*rows+10 input rows, within
// bandPixels (at least one).
func bandRows(tw int) int { return max(1, (bandPixels/tw-10)/2) }
