package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtcnn-go/mtcnn/anonymize"
	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
)

// withPNGMetadata inserts tEXt and eXIf chunks after IHDR.
func withPNGMetadata(p []byte) []byte {
	chunk := func(typ string, data []byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		b = append(b, typ...)
		b = append(b, data...)
		return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdrEnd := 8 + 8 + 13 + 4
	var out []byte
	out = append(out, p[:ihdrEnd]...)
	out = append(out, chunk("tEXt", []byte("Comment\x00secret-comment"))...)
	out = append(out, chunk("eXIf", []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00"))...)
	return append(out, p[ihdrEnd:]...)
}

// jpegMarkers lists the markers of a JPEG file up to SOS.
func jpegMarkers(t *testing.T, d []byte) []byte {
	t.Helper()
	if len(d) < 4 || d[0] != 0xFF || d[1] != 0xD8 {
		t.Fatal("not a JPEG")
	}
	var ms []byte
	for i := 2; i+4 <= len(d); {
		if d[i] != 0xFF {
			t.Fatalf("no marker at %d", i)
		}
		m := d[i+1]
		ms = append(ms, m)
		if m == 0xDA {
			return ms
		}
		i += 2 + int(binary.BigEndian.Uint16(d[i+2:]))
	}
	t.Fatal("no SOS")
	return nil
}

// pngChunks lists the chunk types of a PNG file.
func pngChunks(t *testing.T, d []byte) []string {
	t.Helper()
	if !bytes.HasPrefix(d, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatal("not a PNG")
	}
	var cs []string
	for i := 8; i+8 <= len(d); {
		n := int(binary.BigEndian.Uint32(d[i:]))
		cs = append(cs, string(d[i+4:i+8]))
		i += 12 + n
	}
	return cs
}

// TestAnonymizeStripsMetadata runs "mtcnn anonymize" on solvay as a JPEG
// with EXIF (orientation 6, GPS), XMP and a comment, and as a PNG with
// tEXt and eXIf chunks: the outputs keep the input's format, carry no
// metadata, the JPEG is turned upright, the PNG's pixels outside the masks
// are those of the input, and the detector finds at most 2 of 29 faces.
func TestAnonymizeStripsMetadata(t *testing.T) {
	shared := testenv.Shared(t)
	dir := t.TempDir()
	jpg, err := os.ReadFile(filepath.Join(shared, "testdata", "images", "solvay.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	pngData, err := os.ReadFile(filepath.Join(shared, "testdata", "images", "solvay.png"))
	if err != nil {
		t.Fatal(err)
	}
	inJPEG, inPNG := filepath.Join(dir, "in.jpg"), filepath.Join(dir, "in.png")
	if err := os.WriteFile(inJPEG, testenv.JPEGWithMetadata(jpg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inPNG, withPNGMetadata(pngData), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	stdout, stderr, code := runCLI("anonymize", "-o", out, inJPEG, inPNG)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "hid 29 face(s)") {
		t.Errorf("stdout %q", stdout)
	}
	outJPEG, err := os.ReadFile(filepath.Join(out, "in_anonymized.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range jpegMarkers(t, outJPEG) {
		if m >= 0xE0 && m <= 0xEF || m == 0xFE {
			t.Errorf("output JPEG has marker %#x (APPn or COM)", m)
		}
	}
	outPNG, err := os.ReadFile(filepath.Join(out, "in_anonymized.png"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range pngChunks(t, outPNG) {
		if c != "IHDR" && c != "PLTE" && c != "IDAT" && c != "IEND" {
			t.Errorf("output PNG has chunk %s", c)
		}
	}
	for _, d := range [][]byte{outJPEG, outPNG} {
		for _, s := range []string{"secret", "Exif", "xap", "GPS"} {
			if bytes.Contains(d, []byte(s)) {
				t.Errorf("output contains %q", s)
			}
		}
	}

	det, err := cascade.NewDefault()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	gotJ, _, err := imageio.Decode(bytes.NewReader(outJPEG), imageio.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if b := gotJ.Bounds(); b.Dx() != 661 || b.Dy() != 960 {
		t.Errorf("JPEG output is %v, want 661x960 (EXIF orientation 6 applied)", b)
	}
	gotP, _, err := imageio.Decode(bytes.NewReader(outPNG), imageio.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for name, img := range map[string]image.Image{"jpeg": gotJ, "png": gotP} {
		faces, err := det.Detect(ctx, img, cascade.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if len(faces) > 2 {
			t.Errorf("%s: detector finds %d faces after anonymising, want <= 2", name, len(faces))
		}
	}
	src, _, err := imageio.Decode(bytes.NewReader(pngData), imageio.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	faces, err := det.Detect(ctx, src, cascade.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	rs := anonymize.Regions(src.Bounds(), faces, anonymize.Options{})
	diff, inside := 0, 0
	b := src.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			in := false
			for _, r := range rs {
				in = in || r.Contains(float64(x)+0.5, float64(y)+0.5)
			}
			same := src.At(x, y) == gotP.At(x, y)
			switch {
			case in && !same:
				inside++
			case !in && !same:
				diff++
			}
		}
	}
	if diff != 0 {
		t.Errorf("%d pixels outside the masks changed", diff)
	}
	if inside < 1000 {
		t.Errorf("only %d pixels inside the masks changed", inside)
	}

	// A second run must not overwrite.
	_, stderr, code = runCLI("anonymize", "-o", out, inPNG)
	if code != 1 || !strings.Contains(stderr, "exists") {
		t.Errorf("second run: exit %d, stderr %q; want 1 and 'exists'", code, stderr)
	}
}

func TestAnonymizeFlags(t *testing.T) {
	shared := testenv.Shared(t)
	img := filepath.Join(shared, "testdata", "images", "astronaut.png")
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-mode", "smudge", img}, 2, "unknown mode"},
		{[]string{"-mask-scale", "-1", img}, 2, "mask scale"},
		{[]string{"-mask-scale", "0", img}, 2, "mask scale"},
		{[]string{"-rotate", "sideways", img}, 2, "rotations"},
		{[]string{"-threshold", "2", img}, 2, "threshold"},
		{[]string{}, 2, "no images"},
		{[]string{"-o", dir, filepath.Join(dir, "missing.png")}, 1, "missing.png"},
		{[]string{"-o", dir, "-dry-run", "-mode", "pixelate", "-boxes", img}, 0, "would hide 1 face(s)"},
		{[]string{"-o", dir, "-mode", "fill", img}, 0, "hid 1 face(s)"},
	} {
		stdout, stderr, code := runCLI(append([]string{"anonymize"}, tc.args...)...)
		if code != tc.code || !strings.Contains(stdout+stderr, tc.want) {
			t.Errorf("%v: exit %d, out %q err %q; want %d and %q", tc.args, code, stdout, stderr, tc.code, tc.want)
		}
		if code == 1 && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: error is not one line: %q", tc.args, stderr)
		}
	}
	for _, name := range []string{"astronaut_masks.png", "astronaut_anonymized.png"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
}
