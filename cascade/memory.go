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
	// first copied to BGR bytes, 3 bytes a pixel (48 MiB at most), as the
	// fastest way to read them. Larger images are read straight from the
	// decoded image, converting only the rows a band or a crop needs: a
	// JPEG's pixels are then converted about 2.5 times over (once per
	// pyramid level that reads them), which costs a detection about 10 %
	// more CPU time (measured on a 12-megapixel JPEG), so phone photos up
	// to 16 megapixels keep the copy.
	copyMaxPixels = 1 << 24

	// keptCopyPixels bounds the BGR copy a finished detection's buffers
	// keep for the next one: a larger copy is dropped when it is done.
	keptCopyPixels = 1 << 22

	// bandPixels bounds the input pixels of one P-Net band: nets runs
	// P-Net in bands of the same size, so a cascade band is one pass.
	bandPixels = 1 << 18

	// maxTileWidth bounds the width of a P-Net band: wider pyramid levels
	// run in tiles of columns.
	maxTileWidth = 8192

	// bandBytesPerPixel is what P-Net's intermediate maps and output cost
	// per input pixel of a band (conv1+pool 10 channels at a quarter of
	// the pixels, conv2 16, conv3 32, the heads 6, and the pooled maps'
	// scratch, with the nets' power-of-two buffer classes: measured, see
	// TestWorkingSetMeasured). The band's own input, float32 BGR, is
	// allocated at bandPixels once per worker.
	bandBytesPerPixel = 96

	// refineBytes is what R-Net's and O-Net's chunks of crops need at
	// once: the crops (256 of 24x24 or 64 of 48x48, 1.8 MB) and the
	// nets' intermediate maps (3.5 and 4.3 MB).
	refineBytes = 8 << 20

	// candidateBytes, plus candidateBytesPerPixel for each pixel of the
	// image, is an allowance for P-Net's candidates (36 bytes each, and
	// NMS's grid over them) and the per-detection bookkeeping. Candidates
	// depend on the content; a 44-megapixel mosaic of group photos
	// (2,000 faces) needs about 20 MB.
	candidateBytes         = 4 << 20
	candidateBytesPerPixel = 0.5
)

// WorkingSet returns an estimate of the bytes a detection of a w x h image
// with opts needs besides the decoded image itself:
//
//	3*w*h                      the BGR copy, for images up to 16.7 megapixels only
//	+ k * 28 MiB (at most)     one P-Net band per concurrent pyramid level,
//	                           k = min(GOMAXPROCS, levels); less for small levels
//	+ 8 MiB                    a chunk of R-Net's or O-Net's crops and their maps
//	+ 4 MiB + w*h/2            an allowance for the candidates
//
// Past 16.7 megapixels it grows only by the candidates' allowance: a
// 44-megapixel image at GOMAXPROCS 2 needs about 90 MB (bench/memory:
// `mtcnn detect` on an 8000x5500 JPEG, whose decoded pixels are 63 MiB,
// peaks at 178 MiB RSS, the program included; TestWorkingSetMeasured
// checks the estimate against what detections allocate).
// Invalid options or sizes give the estimate for the defaults; a pyramid
// Detect would refuse (ErrTooLarge) gives what the refusal costs, about
// the allowance.
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
	total += int64(candidateBytesPerPixel * float64(w) * float64(h))
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
		total += 12*bandPixels + int64(rows)*int64(tw)*bandBytesPerPixel
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
