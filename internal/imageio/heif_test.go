//go:build !noheif && !wasm

package imageio

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// needTool returns the path of an external encoder the test needs. It
// skips the test when the tool is missing, except under CI (CI=true),
// where .ci/run installs it and its absence is a failure.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		msg := name + " not found (Debian package " + pkg + ")"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

func decodeGolden(t *testing.T, name string, lim Limits) (image.Image, string, error) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return Decode(bytes.NewReader(data), lim)
}

// astronautPNG is the repository's sample photo, from which the HEIC and
// AVIF goldens were made (heif-enc -q 40; avifenc --min 24 --max 34 -s 8,
// plus --irot 1 --imir 1 for the oriented one).
func astronautPNG(t *testing.T) *image.NRGBA {
	t.Helper()
	f, err := os.Open("../../testdata/astronaut.png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return asNRGBA(img)
}

// meanAbsDiff is the mean absolute difference of the RGB channels.
func meanAbsDiff(a, b *image.NRGBA) float64 {
	var sum, n float64
	for y := range a.Rect.Dy() {
		for x := range a.Rect.Dx() {
			i, j := a.PixOffset(x, y), b.PixOffset(x, y)
			for c := range 3 {
				d := float64(a.Pix[i+c]) - float64(b.Pix[j+c])
				sum += max(d, -d)
				n++
			}
		}
	}
	return sum / n
}

func TestHEIFGoldens(t *testing.T) {
	ref := astronautPNG(t)
	for _, tc := range []struct{ file, format string }{
		{"astronaut.heic", "heic"},
		{"astronaut.avif", "avif"},
	} {
		img, format, err := decodeGolden(t, tc.file, Limits{})
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if format != tc.format || img.Bounds() != ref.Rect {
			t.Errorf("%s: format %q bounds %v, want %q %v", tc.file, format, img.Bounds(), tc.format, ref.Rect)
			continue
		}
		// Lossy, but the same picture: a few levels of 255 on average.
		if d := meanAbsDiff(asNRGBA(img), ref); d > 4 {
			t.Errorf("%s: mean difference %.2f from the PNG it was made from", tc.file, d)
		}
		// Header-first pixel cap.
		if _, _, err := decodeGolden(t, tc.file, Limits{MaxPixels: 512*512 - 1}); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s under a cap of 512*512-1 pixels: %v, want ErrTooLarge", tc.file, err)
		}
		// Truncated: an error, not a panic or a partial image.
		data, _ := os.ReadFile(filepath.Join("testdata", tc.file))
		for _, n := range []int{len(data) / 2, 200, 40} {
			if img, _, err := Decode(bytes.NewReader(data[:n]), Limits{}); err == nil {
				t.Errorf("%s cut to %d bytes decoded to %v", tc.file, n, img.Bounds())
			}
		}
	}
}

// TestAVIFOrientation checks that irot and imir are applied: the oriented
// golden holds the same coded pixels as the plain one, so its decoding
// must equal the plain decoding rotated a quarter turn anticlockwise and
// then mirrored left to right.
func TestAVIFOrientation(t *testing.T) {
	plain, _, err := decodeGolden(t, "astronaut.avif", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := decodeGolden(t, "astronaut-irot1-imir1.avif", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := Orient(Orient(plain, 8), 2)
	if !bytes.Equal(asNRGBA(got).Pix, asNRGBA(want).Pix) {
		t.Error("irot 1 + imir 1 not applied as a quarter turn anticlockwise then a left-right mirror")
	}
}

// TestAVIFOrientationEncoded makes non-square AVIFs with every irot and
// imir with avifenc and checks the decoded size and pixels.
func TestAVIFOrientationEncoded(t *testing.T) {
	avifenc := needTool(t, "avifenc", "libavif-bin")
	dir := t.TempDir()
	src := testImage(64, 32)
	for i := range src.Pix {
		if i%4 == 3 {
			src.Pix[i] = 255
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, src)
	in := filepath.Join(dir, "in.png")
	os.WriteFile(in, buf.Bytes(), 0o644)
	encode := func(name string, extra ...string) image.Image {
		out := filepath.Join(dir, name)
		args := append([]string{"-l", "-s", "10"}, extra...)
		if b, err := exec.Command(avifenc, append(args, in, out)...).CombinedOutput(); err != nil {
			t.Fatalf("avifenc %v: %v\n%s", extra, err, b)
		}
		data, _ := os.ReadFile(out)
		img, format, err := Decode(bytes.NewReader(data), Limits{})
		if err != nil || format != "avif" {
			t.Fatalf("%s: %v (%s)", name, err, format)
		}
		return img
	}
	plain := encode("plain.avif")
	for _, tc := range []struct {
		args []string
		exif int
	}{
		{[]string{"--irot", "1"}, 8},
		{[]string{"--irot", "2"}, 3},
		{[]string{"--irot", "3"}, 6},
		{[]string{"--imir", "0"}, 4},
		{[]string{"--imir", "1"}, 2},
		{[]string{"--irot", "3", "--imir", "0"}, 7},
	} {
		got := encode("t.avif", tc.args...)
		want := Orient(plain, tc.exif)
		if got.Bounds() != want.Bounds() || !bytes.Equal(asNRGBA(got).Pix, asNRGBA(want).Pix) {
			t.Errorf("%v: decoded %v differs from EXIF orientation %d of the plain image", tc.args, got.Bounds(), tc.exif)
		}
	}
}

// TestHEICEncoded decodes a HEIC made by heif-enc from a non-square PNG.
func TestHEICEncoded(t *testing.T) {
	heifEnc := needTool(t, "heif-enc", "libheif-examples")
	dir := t.TempDir()
	src := opaque(testImage(96, 48))
	var buf bytes.Buffer
	png.Encode(&buf, src)
	in, out := filepath.Join(dir, "in.png"), filepath.Join(dir, "out.heic")
	os.WriteFile(in, buf.Bytes(), 0o644)
	if b, err := exec.Command(heifEnc, "-q", "90", "-o", out, in).CombinedOutput(); err != nil {
		t.Fatalf("heif-enc: %v\n%s", err, b)
	}
	data, _ := os.ReadFile(out)
	img, format, err := Decode(bytes.NewReader(data), Limits{})
	if err != nil || format != "heic" || img.Bounds() != src.Rect {
		t.Fatalf("format %q, bounds %v, %v; want heic %v", format, img.Bounds(), err, src.Rect)
	}
}

func TestPrimaryTransforms(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []transform
	}{
		{"astronaut.avif", nil},
		{"astronaut.heic", nil},
		{"astronaut-irot1-imir1.avif", []transform{{rotate: 1, isRot: true}, {mirror: 1}}},
	} {
		data, _ := os.ReadFile(filepath.Join("testdata", tc.file))
		got := primaryTransforms(data)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.file, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: %+v, want %+v", tc.file, got, tc.want)
			}
		}
	}
	if b := ftypBrands(mustRead(t, "testdata/astronaut.heic")); len(b) < 2 || b[0] != "heic" {
		t.Errorf("heic brands %q", b)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzPrimaryTransforms: the ISOBMFF reader never panics and never
// reports more transforms than the input could hold.
func FuzzPrimaryTransforms(f *testing.F) {
	for _, name := range []string{"astronaut.avif", "astronaut-irot1-imir1.avif", "astronaut.heic"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data[:min(len(data), 4096)])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ts := primaryTransforms(data)
		if len(ts) > len(data) {
			t.Fatalf("%d transforms from %d bytes", len(ts), len(data))
		}
		ftypBrands(data)
		isAVIF(data)
	})
}

// BenchmarkDecodeHEIF compares decoding the same 512x512 photo as JPEG
// (quality 90, made here), HEIC and AVIF (the goldens). The HEIF decoders'
// one-time WebAssembly compilation happens before the timer starts.
func BenchmarkDecodeHEIF(b *testing.B) {
	var jpg bytes.Buffer
	f, err := os.Open("../../testdata/astronaut.png")
	if err != nil {
		b.Fatal(err)
	}
	src, err := png.Decode(f)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	if err := jpeg.Encode(&jpg, src, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	inputs := []struct {
		name string
		data []byte
	}{{"jpeg", jpg.Bytes()}}
	for _, name := range []string{"heic", "avif"} {
		data, err := os.ReadFile(filepath.Join("testdata", "astronaut."+name))
		if err != nil {
			b.Fatal(err)
		}
		inputs = append(inputs, struct {
			name string
			data []byte
		}{name, data})
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			if _, _, err := Decode(bytes.NewReader(in.data), Limits{}); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(in.data)))
			for b.Loop() {
				if _, _, err := Decode(bytes.NewReader(in.data), Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
