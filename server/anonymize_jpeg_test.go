package server_test

import (
	"bytes"
	"image"
	"image/jpeg"
	"net/http"
	"testing"

	"github.com/mtcnn-go/mtcnn/anonymize"
	"github.com/mtcnn-go/mtcnn/server"
)

// TestAnonymizeRouteJPEGBlockExact posts a baseline 4:2:0 JPEG: the answer
// is a JPEG whose 16x16 MCUs away from the masks decode to exactly the
// input's pixels, while the masks are hidden.
func TestAnonymizeRouteJPEGBlockExact(t *testing.T) {
	s, _ := newServer(t, server.Config{}, &fakeDetector{faces: twoFaces})
	var in bytes.Buffer
	if err := jpeg.Encode(&in, noisy(120, 80), &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	rec := do(t, s.Handler(), "POST", "/v1/anonymize?mode=fill", bytes.NewReader(in.Bytes()), "Content-Type", "image/jpeg")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/jpeg" {
		t.Fatalf("status %d, type %q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	orig, err := jpeg.Decode(bytes.NewReader(in.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := jpeg.Decode(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	rs := anonymize.Regions(orig.Bounds(), twoFaces, anonymize.Options{})
	kept, changedIn := 0, 0
	for y := 0; y < 80; y++ {
		for x := 0; x < 120; x++ {
			mcu := image.Rect(x/16*16, y/16*16, x/16*16+16, y/16*16+16)
			near, in := false, false
			for _, r := range rs {
				near = near || mcu.Overlaps(r.Bounds().Inset(-2))
				in = in || r.Contains(float64(x)+0.5, float64(y)+0.5)
			}
			same := orig.At(x, y) == got.At(x, y)
			if !near {
				kept++
				if !same {
					t.Fatalf("pixel %d,%d in an MCU away from the masks changed", x, y)
				}
			}
			if in && !same {
				changedIn++
			}
		}
	}
	if kept < 1000 || changedIn < 500 {
		t.Errorf("%d pixels kept, %d changed inside the masks", kept, changedIn)
	}
}
