package jpegblock

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mtcnn-go/mtcnn/internal/testenv"
)

// needTool returns the path of a libjpeg-turbo-progs command (cjpeg,
// jpegtran): the test skips without it, and fails under CI=true.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found (apt-get install libjpeg-turbo-progs): %v", name, err)
		}
		t.Skipf("%s not found (apt-get install libjpeg-turbo-progs), skipping", name)
	}
	return p
}

// toolOrCI reports whether name is installed or CI=true (where runTool
// then fails without it).
func toolOrCI(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil || os.Getenv("CI") == "true"
}

// runTool runs name with args on stdin and returns its output.
func runTool(t testing.TB, name string, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(needTool(t, name), args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, stderr.String())
	}
	return out.Bytes()
}

// ppm encodes img as a binary PPM (P6) or, when grey, PGM (P5).
func ppm(img image.Image) []byte {
	b := img.Bounds()
	var out bytes.Buffer
	g, gray := img.(*image.Gray)
	if gray {
		out.WriteString("P5\n")
	} else {
		out.WriteString("P6\n")
	}
	out.WriteString(itoa(b.Dx()) + " " + itoa(b.Dy()) + "\n255\n")
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if gray {
				out.WriteByte(g.GrayAt(x, y).Y)
				continue
			}
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			out.Write([]byte{c.R, c.G, c.B})
		}
	}
	return out.Bytes()
}

func itoa(v int) string {
	if v == 0 {
		return "0"
	}
	var s []byte
	for ; v > 0; v /= 10 {
		s = append([]byte{byte('0' + v%10)}, s...)
	}
	return string(s)
}

// scanScript is a jpegtran -scans script for three components that
// exercises every progressive scan kind: split DC first and refinement
// scans, AC bands, AC first scans with a point transform of 0 to 3 and
// three AC refinement passes.
const scanScript = `0,1,2: 0-0, 0, 2;
0: 1-9, 0, 3;
0: 10-63, 0, 3;
1: 1-63, 0, 0;
2: 1-5, 0, 1;
2: 6-63, 0, 1;
0,1: 0-0, 2, 1;
2: 0-0, 2, 1;
0,1,2: 0-0, 1, 0;
0: 1-63, 3, 2;
0: 1-63, 2, 1;
0: 1-63, 1, 0;
2: 1-63, 1, 0;
`

// progressiveCases returns progressive JPEGs made by jpegtran from the
// baseline test cases (so their coefficients must equal the baseline
// file's) and by cjpeg from pixels.
func progressiveCases(t testing.TB) (fromBaseline []testCase, base [][]byte, fromPixels []testCase) {
	script := filepath.Join(t.TempDir(), "scans.txt")
	if err := os.WriteFile(script, []byte(scanScript), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range testCases(t) {
		prog := runTool(t, "jpegtran", tc.data, "-progressive")
		fromBaseline = append(fromBaseline, testCase{tc.name + "-prog", prog, tc.mcu, tc.q})
		base = append(base, tc.data)
		if tc.name[:4] != "gray" {
			prog = runTool(t, "jpegtran", tc.data, "-scans", script)
			fromBaseline = append(fromBaseline, testCase{tc.name + "-scans", prog, tc.mcu, tc.q})
			base = append(base, tc.data)
		}
		if tc.mcu == 8 {
			// Restarts every 3 blocks (8x8 MCUs only: see
			// TestProgressiveRefused).
			prog = runTool(t, "jpegtran", tc.data, "-progressive", "-restart", "3B")
			fromBaseline = append(fromBaseline, testCase{tc.name + "-prog-restart3", prog, tc.mcu, tc.q})
			base = append(base, tc.data)
		}
	}
	col, gray := ppm(testImage(203, 141, false)), ppm(testImage(203, 141, true))
	fromPixels = []testCase{
		{"cjpeg-420-q75", runTool(t, "cjpeg", col, "-progressive", "-quality", "75"), 16, 75},
		{"cjpeg-444-q90", runTool(t, "cjpeg", col, "-progressive", "-quality", "90", "-sample", "1x1"), 8, 90},
		{"cjpeg-422-q80", runTool(t, "cjpeg", col, "-progressive", "-quality", "80", "-sample", "2x1"), 0, 80},
		{"cjpeg-gray-q60", runTool(t, "cjpeg", gray, "-progressive", "-quality", "60", "-grayscale"), 8, 60},
	}
	return fromBaseline, base, fromPixels
}

// sameCoded compares the blocks of every component inside its T.81
// block grid (a progressive file codes no padding block's AC
// coefficients).
func sameCoded(a, b *Image) error {
	if a.Width != b.Width || a.Height != b.Height || len(a.Components) != len(b.Components) {
		return errors.New("frames differ")
	}
	for i := range a.Components {
		ca, cb := &a.Components[i], &b.Components[i]
		w := ((a.Width*ca.H+a.Hmax-1)/a.Hmax + 7) / 8
		h := ((a.Height*ca.V+a.Vmax-1)/a.Vmax + 7) / 8
		for by := range h {
			for bx := range w {
				if !slicesEqual(ca.Block(bx, by), cb.Block(bx, by)) {
					return errors.New("component " + itoa(i) + " block (" + itoa(bx) + "," + itoa(by) + ") differs")
				}
			}
		}
	}
	return nil
}

// TestProgressiveCoefficients parses files jpegtran made progressive
// losslessly (its default script, a script with every scan kind, restart
// intervals): the coefficients must be the baseline original's, and the
// baseline re-encode must decode with image/jpeg to the progressive
// file's pixels exactly.
func TestProgressiveCoefficients(t *testing.T) {
	progs, base, _ := progressiveCases(t)
	for i, tc := range progs {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Contains(tc.data, []byte{0xFF, 0xC2}) {
				t.Fatal("jpegtran output is not progressive")
			}
			p, err := Parse(tc.data, 0)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Parse(base[i], 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := sameCoded(p, b); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := p.Encode(&out, TablesOptimal); err != nil {
				t.Fatal(err)
			}
			samePixels(t, decode(t, tc.data), decode(t, out.Bytes()), nil)
		})
	}
}

// TestPatchProgressive patches progressive files (cjpeg and jpegtran
// output): every MCU the edit does not touch decodes with image/jpeg to
// the progressive input's pixels, and the output is baseline.
func TestPatchProgressive(t *testing.T) {
	progs, _, pix := progressiveCases(t)
	for _, tc := range append(pix, progs...) {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []image.Rectangle{image.Rect(0, 0, 0, 0), image.Rect(37, 21, 90, 60), image.Rect(190, 130, 203, 141)} {
				edited := decode(t, tc.data)
				editRect(edited, r)
				var out bytes.Buffer
				res, err := Patch(&out, tc.data, edited, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if tc.mcu != 0 && (res.MCUWidth != tc.mcu || res.MCUHeight != tc.mcu) {
					t.Errorf("MCU %dx%d, want %d", res.MCUWidth, res.MCUHeight, tc.mcu)
				}
				if r.Empty() != (res.Reencoded == 0) || res.Reencoded == len(res.Touched) {
					t.Errorf("%v: %d of %d MCUs re-encoded", r, res.Reencoded, len(res.Touched))
				}
				if bytes.Contains(out.Bytes(), []byte{0xFF, 0xC2}) || !bytes.Contains(out.Bytes(), []byte{0xFF, 0xC0}) {
					t.Error("output is not baseline")
				}
				got := decode(t, out.Bytes())
				samePixels(t, decode(t, tc.data), got, func(x, y int) bool {
					return res.Touched[(y/res.MCUHeight)*res.MCUsX+x/res.MCUWidth]
				})
				if !r.Empty() {
					ref := decode(t, goJPEG(t, edited, tc.q))
					if e, re := meanErr(got, edited, r), meanErr(ref, edited, r); e > re+1 {
						t.Errorf("%v: edited region off by %.2f levels on average, image/jpeg by %.2f", r, e, re)
					}
				}
			}
		})
	}
}

// TestProgressiveRefused checks the progressive files image/jpeg reads
// otherwise than T.81 are refused with ErrUnsupported, not decoded to
// other coefficients: restart intervals in a scan of a subsampled-luma
// component (image/jpeg counts them in MCUs, T.81 in blocks, so it
// cannot decode such a file at all).
func TestProgressiveRefused(t *testing.T) {
	base := goJPEG(t, testImage(203, 141, false), 80) // 4:2:0
	prog := runTool(t, "jpegtran", base, "-progressive", "-restart", "3B")
	if _, err := Parse(prog, 0); !errors.Is(err, ErrUnsupported) {
		t.Errorf("4:2:0 progressive with restarts: got %v, want ErrUnsupported", err)
	}
	var out bytes.Buffer
	fb, err := WriteEdited(&out, prog, testImage(203, 141, false), 90)
	if err != nil || !errors.Is(fb, ErrUnsupported) {
		t.Errorf("WriteEdited: fallback %v, err %v", fb, err)
	}
}

// BenchmarkParseProgressive parses solvay.jpg (baseline 4:2:0, 960x661)
// and the same coefficients made progressive by jpegtran, beside
// image/jpeg decoding the progressive file (which Patch also does).
func BenchmarkParseProgressive(b *testing.B) {
	base, err := os.ReadFile(filepath.Join(testenv.Shared(b), "testdata", "images", "solvay.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	prog := runTool(b, "jpegtran", base, "-progressive")
	for _, c := range []struct {
		name string
		data []byte
	}{{"baseline", base}, {"progressive", prog}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			for b.Loop() {
				if _, err := Parse(c.data, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("image-jpeg.Decode-progressive", func(b *testing.B) {
		for b.Loop() {
			if _, err := jpeg.Decode(bytes.NewReader(prog)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestProgressiveScanCap checks a progressive file with more than
// maxProgressiveScans scans (a DC refinement scan repeated: each is
// valid) is refused, and one just below the cap parsed.
func TestProgressiveScanCap(t *testing.T) {
	prog := runTool(t, "jpegtran", goJPEG(t, testImage(64, 48, true), 80), "-progressive")
	// Find the DC refinement scan (Ss 0, Ah 1): header and data.
	var refine []byte
	for p := 2; p+4 < len(prog) && refine == nil; p++ {
		if prog[p] != 0xFF || prog[p+1] != 0xDA {
			continue
		}
		n := int(prog[p+2])<<8 | int(prog[p+3])
		hdr := prog[p+4 : p+2+n]
		ns := int(hdr[0])
		if hdr[1+2*ns] == 0 && hdr[3+2*ns]>>4 == 1 {
			end, err := nextMarker(prog, p+2+n)
			if err != nil {
				t.Fatal(err)
			}
			refine = prog[p:end]
		}
	}
	if refine == nil {
		t.Fatal("no DC refinement scan in jpegtran's output")
	}
	scans := bytes.Count(prog, []byte{0xFF, 0xDA})
	with := func(extra int) []byte {
		body := prog[:len(prog)-2]
		return append(append(body[:len(body):len(body)], bytes.Repeat(refine, extra)...), 0xFF, 0xD9)
	}
	if _, err := Parse(with(maxProgressiveScans-scans), 0); err != nil {
		t.Errorf("%d scans: %v", maxProgressiveScans, err)
	}
	if _, err := Parse(with(maxProgressiveScans-scans+1), 0); !errors.Is(err, ErrUnsupported) {
		t.Errorf("%d scans: got %v, want ErrUnsupported", maxProgressiveScans+1, err)
	}
}
