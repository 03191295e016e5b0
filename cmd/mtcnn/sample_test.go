package main

import (
	"testing"
)

// TestDetectSamplePhoto runs the README's first command on the photo
// shipped in the repository, so a fresh clone with nothing beside it can
// check that detection works: one frontal face with its five landmarks
// inside the box.
func TestDetectSamplePhoto(t *testing.T) {
	out, errs, code := runCLI("detect", "-json", "../../testdata/astronaut.png")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	res := decodeLines(t, out)
	if len(res) != 1 || res[0].Width != 512 || res[0].Height != 512 {
		t.Fatalf("got %+v, want one 512x512 result", res)
	}
	faces := res[0].Faces
	if len(faces) != 1 {
		t.Fatalf("got %d faces, want 1: %+v", len(faces), faces)
	}
	f := faces[0]
	if f.Score < 0.99 {
		t.Errorf("score %v, want >= 0.99", f.Score)
	}
	if w := f.Box[2] - f.Box[0]; w < 60 || w > 150 {
		t.Errorf("box %v: width %v, want 60-150 px", f.Box, w)
	}
	for i, p := range f.Landmarks {
		if p[0] < f.Box[0] || p[0] > f.Box[2] || p[1] < f.Box[1] || p[1] > f.Box[3] {
			t.Errorf("landmark %d %v outside box %v", i, p, f.Box)
		}
	}
}
