package jpegblock

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"testing"
)

// testImage is a smooth gradient with some texture, w x h.
func testImage(w, h int, gray bool) image.Image {
	if gray {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				g.SetGray(x, y, color.Gray{uint8((x*3 + y*5 + (x*y)%17) % 256)})
			}
		}
		return g
	}
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetRGBA(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x*y)%31*8 + int(40*math.Sin(float64(x)/7))), 255})
		}
	}
	return m
}

func goJPEG(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// jpeg444 encodes img as 4:4:4 with this package's encoder.
func jpeg444(t testing.TB, img image.Image, restart int) []byte {
	t.Helper()
	src := goJPEG(t, img, 90) // for its quantisation tables
	m, err := Parse(src, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	m.Hmax, m.Vmax = 1, 1
	m.MCUsX, m.MCUsY = (b.Dx()+7)/8, (b.Dy()+7)/8
	m.RestartInterval = restart
	for ci := range m.Components {
		c := &m.Components[ci]
		c.H, c.V, c.BlocksX, c.BlocksY = 1, 1, m.MCUsX, m.MCUsY
		c.Coef = make([]int16, m.MCUsX*m.MCUsY*64)
	}
	var blk [64]float64
	for by := range m.MCUsY {
		for bx := range m.MCUsX {
			for ci := range m.Components {
				for j := range 8 {
					for i := range 8 {
						blk[j*8+i] = sample(img, b.Min, m, ci, bx*8+i, by*8+j, 1, 1) - 128
					}
				}
				fdctQuant(&blk, m.Quant[m.Components[ci].Tq], m.Components[ci].Block(bx, by))
			}
		}
	}
	var out bytes.Buffer
	if err := m.Encode(&out, TablesOptimal); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// withRestart re-encodes data with a restart interval.
func withRestart(t testing.TB, data []byte, ri int) []byte {
	t.Helper()
	m, err := Parse(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	m.RestartInterval = ri
	var out bytes.Buffer
	if err := m.Encode(&out, TablesStandard); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// withScans re-encodes data with one scan per element of scans and a
// restart interval.
func withScans(t testing.TB, data []byte, ri int, scans ...[]int) []byte {
	t.Helper()
	m, err := Parse(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	m.RestartInterval = ri
	var out bytes.Buffer
	if err := m.encode(&out, TablesOptimal, scans); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

type testCase struct {
	name string
	data []byte
	mcu  int // MCU side in pixels
	q    int // quality of its quantisation tables in image/jpeg's scale
}

func testCases(t testing.TB) []testCase {
	col, gray := testImage(203, 141, false), testImage(203, 141, true)
	return []testCase{
		{"gray-q50", goJPEG(t, gray, 50), 8, 50},
		{"gray-q95", goJPEG(t, gray, 95), 8, 95},
		{"gray-restart5", withRestart(t, goJPEG(t, gray, 80), 5), 8, 80},
		{"420-q30", goJPEG(t, col, 30), 16, 30},
		{"420-q75", goJPEG(t, col, 75), 16, 75},
		{"420-q100", goJPEG(t, col, 100), 16, 100},
		{"420-restart3", withRestart(t, goJPEG(t, col, 85), 3), 16, 85},
		{"420-3scans", withScans(t, goJPEG(t, col, 70), 0, []int{0}, []int{1}, []int{2}), 16, 70},
		{"420-2scans-restart4", withScans(t, goJPEG(t, col, 70), 4, []int{2}, []int{0, 1}), 16, 70},
		{"444-q90", jpeg444(t, col, 0), 8, 90},
		{"444-restart7", jpeg444(t, col, 7), 8, 90},
	}
}

func decode(t testing.TB, data []byte) image.Image {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("image/jpeg: %v", err)
	}
	return img
}

// samePixels reports the first pixel outside skip where a and b differ.
func samePixels(t *testing.T, a, b image.Image, skip func(x, y int) bool) {
	t.Helper()
	if a.Bounds() != b.Bounds() {
		t.Fatalf("bounds %v vs %v", a.Bounds(), b.Bounds())
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if skip != nil && skip(x, y) {
				continue
			}
			if a.At(x, y) != b.At(x, y) {
				t.Fatalf("pixel (%d,%d): %v vs %v", x, y, a.At(x, y), b.At(x, y))
			}
		}
	}
}

// scanData returns the bytes from the first SOS segment to the end.
func scanData(t *testing.T, data []byte) []byte {
	t.Helper()
	for p := 2; p+4 <= len(data); {
		n := int(binary.BigEndian.Uint16(data[p+2:]))
		if data[p+1] == 0xDA {
			return data[p+4+n-2:]
		}
		p += 2 + n
	}
	t.Fatal("no SOS")
	return nil
}

// markers lists the segment markers before the first SOS.
func markers(t *testing.T, data []byte) []byte {
	t.Helper()
	var ms []byte
	for p := 2; p+4 <= len(data); {
		ms = append(ms, data[p+1])
		if data[p+1] == 0xDA {
			return ms
		}
		p += 2 + int(binary.BigEndian.Uint16(data[p+2:]))
	}
	t.Fatal("no SOS")
	return nil
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range testCases(t) {
		for _, tab := range []Tables{TablesOptimal, TablesKeep, TablesStandard} {
			m, err := Parse(tc.data, 0)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var out bytes.Buffer
			if err := m.Encode(&out, tab); err != nil {
				t.Fatalf("%s tables %d: %v", tc.name, tab, err)
			}
			samePixels(t, decode(t, tc.data), decode(t, out.Bytes()), nil)
			if tab == TablesKeep && bytes.Count(tc.data, []byte{0xFF, 0xDA}) == 1 && !bytes.Equal(scanData(t, tc.data), scanData(t, out.Bytes())) {
				t.Errorf("%s: entropy-coded data differs with the input's own tables", tc.name)
			}
			for _, mk := range markers(t, out.Bytes()) {
				if mk >= 0xE0 && mk <= 0xEF || mk == 0xFE {
					t.Errorf("%s: output has marker %#x", tc.name, mk)
				}
			}
		}
	}
}

// editRect changes the pixels of r in img (an image/jpeg decode) in
// place: flat mid grey.
func editRect(img image.Image, r image.Rectangle) {
	switch p := img.(type) {
	case *image.YCbCr:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				p.Y[p.YOffset(x, y)] = 100
				p.Cb[p.COffset(x, y)] = 90
				p.Cr[p.COffset(x, y)] = 160
			}
		}
	case *image.Gray:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				p.Pix[p.PixOffset(x, y)] = 100
			}
		}
	}
}

func TestPatch(t *testing.T) {
	for _, tc := range testCases(t) {
		for i, r := range []image.Rectangle{image.Rect(0, 0, 0, 0), image.Rect(37, 21, 90, 60), image.Rect(190, 130, 203, 141), image.Rect(3, 100, 20, 120)} {
			edited := decode(t, tc.data)
			editRect(edited, r)
			if i == 3 {
				// Any image type: compared and sampled by colour.
				n := image.NewNRGBA(edited.Bounds())
				draw.Draw(n, n.Rect, edited, image.Point{}, draw.Src)
				edited = n
			}
			var out bytes.Buffer
			res, err := Patch(&out, tc.data, edited, Options{})
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if res.MCUWidth != tc.mcu || res.MCUHeight != tc.mcu {
				t.Errorf("%s: MCU %dx%d, want %d", tc.name, res.MCUWidth, res.MCUHeight, tc.mcu)
			}
			// The touched MCUs are exactly those r overlaps.
			want := 0
			for my := range res.MCUsY {
				for mx := range res.MCUsX {
					cell := image.Rect(mx*tc.mcu, my*tc.mcu, mx*tc.mcu+tc.mcu, my*tc.mcu+tc.mcu)
					in := cell.Overlaps(r)
					if in {
						want++
					}
					if res.Touched[my*res.MCUsX+mx] != in {
						t.Errorf("%s %v: MCU (%d,%d) touched %v", tc.name, r, mx, my, !in)
					}
				}
			}
			if res.Reencoded != want {
				t.Errorf("%s %v: %d MCUs re-encoded, want %d", tc.name, r, res.Reencoded, want)
			}
			got := decode(t, out.Bytes())
			samePixels(t, decode(t, tc.data), got, func(x, y int) bool {
				return res.Touched[(y/tc.mcu)*res.MCUsX+x/tc.mcu]
			})
			// Within touched MCUs, luma blocks away from the edit keep
			// their samples (the chroma samples the edit changed reach
			// at most one pixel past it).
			if i < 3 {
				kept := keptLuma(t, decode(t, tc.data), got, r.Inset(-1))
				if tc.mcu == 16 && i == 2 && kept == 0 {
					t.Errorf("%s %v: no luma block kept inside the touched MCUs", tc.name, r)
				}
			}
			// Inside the edit, the output is as close to the edited
			// pixels as a whole re-encode by image/jpeg with the same
			// tables (4:2:0 for colour).
			ref := decode(t, goJPEG(t, edited, tc.q))
			e, re := meanErr(got, edited, r), meanErr(ref, edited, r)
			t.Logf("%s %v: %d MCUs re-encoded; error inside %.2f levels (image/jpeg %.2f)", tc.name, r, res.Reencoded, e, re)
			if e > re+1 {
				t.Errorf("%s %v: edited region off by %.2f levels on average, image/jpeg by %.2f", tc.name, r, e, re)
			}
		}
	}
}

// keptLuma checks that every 8x8 luma block of b not overlapping r has
// a's luma samples, and counts those blocks that overlap r's 16x16
// MCUs.
func keptLuma(t *testing.T, a, b image.Image, r image.Rectangle) int {
	t.Helper()
	luma := func(img image.Image, x, y int) uint8 {
		switch p := img.(type) {
		case *image.YCbCr:
			return p.Y[p.YOffset(x, y)]
		case *image.Gray:
			return p.Pix[p.PixOffset(x, y)]
		}
		t.Fatalf("decoded as %T", img)
		return 0
	}
	bounds := a.Bounds()
	kept := 0
	for by := 0; by*8 < bounds.Dy(); by++ {
		for bx := 0; bx*8 < bounds.Dx(); bx++ {
			br := image.Rect(bx*8, by*8, bx*8+8, by*8+8).Intersect(bounds)
			if br.Overlaps(r) {
				continue
			}
			for y := br.Min.Y; y < br.Max.Y; y++ {
				for x := br.Min.X; x < br.Max.X; x++ {
					if luma(a, x, y) != luma(b, x, y) {
						t.Fatalf("luma at (%d,%d) changed, outside %v", x, y, r)
					}
				}
			}
			mcu := image.Rect(bx/2*16, by/2*16, bx/2*16+16, by/2*16+16)
			if mcu.Overlaps(r) {
				kept++
			}
		}
	}
	return kept
}

// meanErr is the mean absolute difference of a and b over r, in 8-bit
// levels of R, G and B.
func meanErr(a, b image.Image, r image.Rectangle) float64 {
	var sum, n float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			for _, d := range [][2]uint32{{r1, r2}, {g1, g2}, {b1, b2}} {
				sum += math.Abs(float64(d[0]>>8) - float64(d[1]>>8))
				n++
			}
		}
	}
	if n == 0 {
		return 0
	}
	return sum / n
}

// patchSOF returns data with the frame header byte at off (from the
// SOF marker) set to v.
func patchSOF(t *testing.T, data []byte, off int, v byte) []byte {
	d := append([]byte(nil), data...)
	i := bytes.Index(d, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no SOF0")
	}
	d[i+off] = v
	return d
}

func withEXIFOrientation(data []byte, o uint16) []byte {
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, byte(o >> 8), byte(o), 0, 0, 0, 0, 0, 0}
	body := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1, byte((len(body) + 2) >> 8), byte(len(body) + 2)}
	out := append([]byte{0xFF, 0xD8}, seg...)
	out = append(out, body...)
	return append(out, data[2:]...)
}

func TestErrors(t *testing.T) {
	good := goJPEG(t, testImage(40, 30, false), 80)
	img := decode(t, good)
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrCorrupt},
		{"png", []byte("\x89PNG\r\n\x1a\n"), ErrCorrupt},
		{"truncated", good[:len(good)/2], ErrCorrupt},
		{"no-eoi", good[:len(good)-2], ErrCorrupt},
		// A sequential scan (0-63) in a progressive frame.
		{"progressive-0-63", bytes.Replace(good, []byte{0xFF, 0xC0}, []byte{0xFF, 0xC2}, 1), ErrCorrupt},
		{"arithmetic", bytes.Replace(good, []byte{0xFF, 0xC0}, []byte{0xFF, 0xC9}, 1), ErrUnsupported},
		{"12-bit", patchSOF(t, good, 4, 12), ErrUnsupported},
		{"huge", patchSOF(t, patchSOF(t, good, 5, 0xFF), 7, 0xFF), ErrTooLarge},
		{"zero-width", patchSOF(t, patchSOF(t, good, 7, 0), 8, 0), ErrCorrupt},
		{"bad-sampling", patchSOF(t, good, 11, 0x55), ErrCorrupt},
		{"exif-rotated", withEXIFOrientation(good, 6), ErrUnsupported},
		{"adobe-rgb", append([]byte{0xFF, 0xD8, 0xFF, 0xEE, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0}, good[2:]...), ErrUnsupported},
	}
	for _, tc := range cases {
		_, err := Patch(&bytes.Buffer{}, tc.data, img, Options{MaxPixels: 1 << 20})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	// Four components (CMYK) are not handled.
	if _, err := parseFrame([]byte{8, 0, 16, 0, 16, 4, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1, 4, 0x11, 0}, 1<<20, 1000); !errors.Is(err, ErrUnsupported) {
		t.Errorf("CMYK frame: got %v, want ErrUnsupported", err)
	}
	// EXIF orientation 1 is kept block-exact.
	if _, err := Patch(&bytes.Buffer{}, withEXIFOrientation(good, 1), img, Options{}); err != nil {
		t.Errorf("orientation 1: %v", err)
	}
	// A size mismatch is an error.
	if _, err := Patch(&bytes.Buffer{}, good, image.NewRGBA(image.Rect(0, 0, 10, 10)), Options{}); err == nil {
		t.Error("size mismatch accepted")
	}
	// WriteEdited falls back and says why.
	var out bytes.Buffer
	fb, err := WriteEdited(&out, withEXIFOrientation(good, 6), img, 90)
	if err != nil || !errors.Is(fb, ErrUnsupported) {
		t.Errorf("WriteEdited on a rotated file: fallback %v, err %v", fb, err)
	}
	if _, err := jpeg.Decode(&out); err != nil {
		t.Errorf("fallback output: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, tc := range testCases(f) {
		f.Add(tc.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, 1<<20)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := m.Encode(&out, TablesKeep); err != nil {
			return
		}
		m2, err := Parse(out.Bytes(), 1<<20)
		if err != nil {
			t.Fatalf("re-parsing our own output: %v", err)
		}
		for i := range m.Components {
			if !equalCoef(m, m2, i) {
				t.Fatalf("component %d changed in a round trip", i)
			}
		}
	})
}

// equalCoef compares the coded blocks of component i.
func equalCoef(a, b *Image, i int) bool {
	ca, cb := &a.Components[i], &b.Components[i]
	if len(a.Components) == 1 {
		for by := range (a.Height + 7) / 8 {
			for bx := range (a.Width + 7) / 8 {
				if !slicesEqual(ca.Block(bx, by), cb.Block(bx, by)) {
					return false
				}
			}
		}
		return true
	}
	return slicesEqual(ca.Coef, cb.Coef)
}

func slicesEqual(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
