package cascade

// ReadLarge makes every image read as a large one: no BGR copy, rows and
// pixels converted from the decoded image as they are needed; with
// tile > 0, pyramid levels also run in tiles of at most tile columns. It
// returns a function that restores the defaults. Tests using it must not
// run in parallel.
func ReadLarge(tile int) (restore func()) {
	oldCopy, oldTile := copyMax, tileWidth
	copyMax = 0
	if tile > 0 {
		tileWidth = tile
	}
	return func() { copyMax, tileWidth = oldCopy, oldTile }
}

// BandPixels is bandPixels.
const BandPixels = bandPixels

// Levels returns the number of pyramid levels of a w x h image.
func Levels(w, h int, opts Options) int {
	levels, _ := pyramid(nil, h, w, opts.withDefaults())
	return len(levels)
}
