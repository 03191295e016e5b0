package main

import (
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtcnn-go/mtcnn/internal/testenv"
	"github.com/mtcnn-go/mtcnn/orient"
	"github.com/mtcnn-go/mtcnn/quality"
)

// recordsOf decodes -json output into records (face + rotation, pose,
// quality).
func recordsOf(t *testing.T, stdout string) [][]quality.Record {
	t.Helper()
	var out [][]quality.Record
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var r struct {
			Faces []quality.Record `json:"faces"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		out = append(out, r.Faces)
	}
	return out
}

// TestDetectRecords: every face in -json has its pose and quality, and
// the plain fields equal those of the same run without them (the golden
// test checks those against the reference).
func TestDetectRecords(t *testing.T) {
	img := filepath.Join(testenv.Shared(t), "testdata", "images", "test_image.png")
	stdout, stderr, code := runCLI("detect", "-json", img)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	recs := recordsOf(t, stdout)[0]
	plain := decodeLines(t, stdout)[0].Faces
	if len(recs) != 6 || len(plain) != 6 {
		t.Fatalf("%d records, %d faces, want 6", len(recs), len(plain))
	}
	for i, r := range recs {
		if r.Face != plain[i] || r.Rotation != 0 || r.Quality.Size < 30 || r.Quality.Sharpness <= 0 || r.Quality.Brightness <= 0 || r.Pose == (quality.Pose{}) {
			t.Errorf("face %d: %+v", i, r)
		}
	}
	for _, tc := range []struct {
		args []string
		n    int
	}{
		{[]string{"-largest"}, 1},
		{[]string{"-top", "3"}, 3},
		{[]string{"-min-score", "0.9999"}, -1},
		{[]string{"-max-yaw", "15"}, -1},
	} {
		stdout, stderr, code := runCLI(append(append([]string{"detect", "-json"}, tc.args...), img)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, stderr)
		}
		got := recordsOf(t, stdout)[0]
		switch tc.args[0] {
		case "-largest":
			best := 0
			for i, r := range recs {
				b, bb := r.Box, recs[best].Box
				if (b[2]-b[0])*(b[3]-b[1]) > (bb[2]-bb[0])*(bb[3]-bb[1]) {
					best = i
				}
			}
			if len(got) != 1 || got[0].Face != recs[best].Face {
				t.Errorf("-largest: %+v, want face %d", got, best)
			}
		case "-top":
			if len(got) != 3 || got[0].Score < got[1].Score || got[1].Score < got[2].Score {
				t.Errorf("-top 3: %+v", got)
			}
		case "-min-score":
			for _, r := range got {
				if r.Score < 0.9999 {
					t.Errorf("-min-score: kept score %v", r.Score)
				}
			}
			if len(got) == 6 || len(got) == 0 {
				t.Errorf("-min-score 0.9999 kept %d of 6 faces; the test wants a split", len(got))
			}
		case "-max-yaw":
			for _, r := range got {
				if math.Abs(r.Pose.Yaw) > 15 {
					t.Errorf("-max-yaw: kept yaw %v", r.Pose.Yaw)
				}
			}
			if len(got) == 6 || len(got) == 0 {
				t.Errorf("-max-yaw 15 kept %d of 6 faces; the test wants a split", len(got))
			}
		}
	}
}

// TestDetectCrops: -crops writes <stem>_<index>.png per face at the
// asked size, refuses to overwrite, and bad crop flags are usage errors.
func TestDetectCrops(t *testing.T) {
	img := filepath.Join(testenv.Shared(t), "testdata", "images", "test_image.png")
	dir := t.TempDir()
	stdout, stderr, code := runCLI("detect", "-json", "-crops", dir, "-crop", "box", "-crop-size", "64", "-crop-margin", "8", img)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	n := len(recordsOf(t, stdout)[0])
	for i := range n {
		f, err := os.Open(filepath.Join(dir, "test_image_"+string(rune('0'+i))+".png"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := png.DecodeConfig(f)
		f.Close()
		if err != nil || c.Width != 64 || c.Height != 64 {
			t.Errorf("crop %d: %+v %v", i, c, err)
		}
	}
	_, stderr, code = runCLI("detect", "-crops", dir, img)
	if code != 1 || !strings.Contains(stderr, "exists") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("second run: exit %d, stderr %q; want 1 and one line saying the file exists", code, stderr)
	}
	// A clash on a later face writes none of the crops and leaves the
	// existing file as it was.
	dir2 := t.TempDir()
	taken := filepath.Join(dir2, "test_image_3.png")
	if err := os.WriteFile(taken, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runCLI("detect", "-crops", dir2, img)
	if code != 1 || !strings.Contains(stderr, "test_image_3.png") {
		t.Errorf("clash on crop 3: exit %d, stderr %q; want 1 naming test_image_3.png", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir2, "test_image_0.png")); err == nil {
		t.Error("clash on crop 3: crop 0 was written anyway")
	}
	if b, err := os.ReadFile(taken); err != nil || string(b) != "mine" {
		t.Errorf("clash on crop 3: existing file now %q (%v)", b, err)
	}
	for _, args := range [][]string{
		{"-crop-size", "15"}, {"-crop-size", "1025"}, {"-crop-size", "0"}, {"-crop", "affine"},
		{"-crop", "box", "-crop-margin", "-1"}, {"-top", "-1"}, {"-min-score", "2"}, {"-max-yaw", "-3"},
		{"-rotate", "sideways"}, {"-rotate-step", "1"}, {"-rotate", "auto", "-rotate-step", "30"},
	} {
		_, stderr, code := runCLI(append(append([]string{"detect", "-crops", dir}, args...), img)...)
		if code != 2 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2", args, code, stderr)
		}
	}
}

// TestDetectRotate: solvay turned 90 degrees counterclockwise, with
// -rotate auto, gives >= 27 faces at rotation 90; without it, almost none.
func TestDetectRotate(t *testing.T) {
	src := filepath.Join(testenv.Shared(t), "testdata", "images", "solvay.png")
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	turned, err := orient.Rotate(img, 270)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "turned.png")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(out, turned); err != nil {
		t.Fatal(err)
	}
	out.Close()
	stdout, stderr, code := runCLI("detect", "-json", "-rotate", "auto", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	n90 := 0
	for _, r := range recordsOf(t, stdout)[0] {
		if r.Rotation == 90 {
			n90++
		}
	}
	if n90 < 27 {
		t.Errorf("%d faces at rotation 90, want >= 27", n90)
	}
}
