package server_test

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"testing"

	"github.com/mtcnn-go/mtcnn/anonymize"
	"github.com/mtcnn-go/mtcnn/server"
)

// noisy returns a w x h image with varied pixels, so that a blur changes
// them.
func noisy(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 37), uint8(y * 91), uint8((x ^ y) * 13), 255})
		}
	}
	return img
}

func TestAnonymizeRoute(t *testing.T) {
	s, _ := newServer(t, server.Config{}, &fakeDetector{faces: twoFaces})
	src := noisy(120, 80)
	var pngIn, jpegIn bytes.Buffer
	if err := png.Encode(&pngIn, src); err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(&jpegIn, src, nil); err != nil {
		t.Fatal(err)
	}

	rec := do(t, s.Handler(), "POST", "/v1/anonymize?mode=pixelate", bytes.NewReader(pngIn.Bytes()), "Content-Type", "image/png")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/png" || rec.Header().Get("X-Face-Count") != "2" {
		t.Fatalf("status %d, type %q, count %q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("X-Face-Count"), rec.Body)
	}
	got, err := png.Decode(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	rs := anonymize.Regions(src.Rect, twoFaces, anonymize.Options{})
	changed := 0
	for y := 0; y < 80; y++ {
		for x := 0; x < 120; x++ {
			in := false
			for _, r := range rs {
				in = in || r.Contains(float64(x)+0.5, float64(y)+0.5)
			}
			same := color.NRGBAModel.Convert(got.At(x, y)) == src.At(x, y)
			if !in && !same {
				t.Fatalf("pixel %d,%d outside the masks changed", x, y)
			}
			if in && !same {
				changed++
			}
		}
	}
	if changed < 500 {
		t.Errorf("only %d pixels changed inside the masks", changed)
	}

	rec = do(t, s.Handler(), "POST", "/v1/anonymize", bytes.NewReader(jpegIn.Bytes()), "Content-Type", "image/jpeg")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/jpeg" {
		t.Fatalf("JPEG in: status %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if b := rec.Body.Bytes(); len(b) < 4 || b[2] != 0xFF || b[3] >= 0xE0 && b[3] <= 0xEF {
		t.Errorf("JPEG answer starts % x, want SOI then no APPn", b[:min(4, len(b))])
	}

	rec = do(t, s.Handler(), "POST", "/v1/anonymize?dry_run=true&boxes=1", bytes.NewReader(jpegIn.Bytes()))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/png" {
		t.Errorf("dry run: status %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
	}

	for _, q := range []string{"mode=smudge", "mask_scale=0", "mask_scale=x", "boxes=maybe", "threshold=2", "dry_run=2"} {
		rec := do(t, s.Handler(), "POST", "/v1/anonymize?"+q, bytes.NewReader(pngIn.Bytes()))
		if code, _ := apiError(t, rec); rec.Code != http.StatusBadRequest || code != "invalid_parameter" {
			t.Errorf("%s: status %d code %q, want 400 invalid_parameter", q, rec.Code, code)
		}
	}
}
