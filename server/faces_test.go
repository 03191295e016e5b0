package server_test

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/mtcnn-go/mtcnn/anonymize"
	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/quality"
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
		if code, _ := apiError(t, rec); rec.Code != http.StatusBadRequest || code != "invalid_options" {
			t.Errorf("%s: status %d code %q, want 400 invalid_options", q, rec.Code, code)
		}
	}
}

// TestFaceRecordsAndFilters: /v1/detect answers each face with rotation,
// pose and quality, the face fields unchanged; the filter and rotation
// parameters apply; bad values are 400.
func TestFaceRecordsAndFilters(t *testing.T) {
	det := &fakeDetector{faces: twoFaces}
	s, _ := newServer(t, server.Config{}, det)
	img := pngBytes(t, 120, 80)
	var got struct {
		Faces []quality.Record `json:"faces"`
	}
	rec := do(t, s.Handler(), "POST", "/v1/detect", bytes.NewReader(img))
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 {
		t.Fatalf("%d %v: %s", rec.Code, err, rec.Body)
	}
	if len(got.Faces) != 2 || got.Faces[0].Face != twoFaces[0] || got.Faces[0].Quality.Size == 0 || !strings.Contains(rec.Body.String(), `"pose":{"yaw":`) {
		t.Errorf("records %+v", got.Faces)
	}
	for q, want := range map[string]int{"top=1": 1, "largest=true": 1, "min_score=0.95": 1, "min_score=0.5": 2, "max_yaw=90": 2} {
		rec := do(t, s.Handler(), "POST", "/v1/detect?"+q, bytes.NewReader(img))
		got.Faces = nil
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || len(got.Faces) != want {
			t.Errorf("%s: %d faces (%v), want %d", q, len(got.Faces), err, want)
		}
	}
	// A sweep calls the detector once per rotation.
	before := det.calls.Load()
	rec = do(t, s.Handler(), "POST", "/v1/detect?rotate=auto", bytes.NewReader(img))
	if rec.Code != 200 || det.calls.Load()-before != 4 {
		t.Errorf("rotate=auto: status %d, %d detections, want 200 and 4", rec.Code, det.calls.Load()-before)
	}
	for _, q := range []string{"rotate=sideways", "rotate_step=1", "rotate=auto&rotate_step=30", "top=x", "top=-1", "largest=2", "min_score=2", "max_yaw=-1", "max_yaw=x"} {
		rec := do(t, s.Handler(), "POST", "/v1/detect?"+q, bytes.NewReader(img))
		if code, _ := apiError(t, rec); rec.Code != http.StatusBadRequest || code != "invalid_options" {
			t.Errorf("%s: status %d code %q, want 400 invalid_options", q, rec.Code, code)
		}
	}
}

func TestCropsRoute(t *testing.T) {
	s, _ := newServer(t, server.Config{}, &fakeDetector{faces: twoFaces})
	img := pngBytes(t, 120, 80)
	rec := do(t, s.Handler(), "POST", "/v1/crops?crop=box&crop_size=48&crop_margin=4", bytes.NewReader(img))
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var got struct {
		Width, Height int
		Faces         []struct {
			quality.Record
			Crop []byte `json:"crop"` // base64 decodes into []byte
		} `json:"faces"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Width != 120 || len(got.Faces) != 2 || got.Faces[1].Face != twoFaces[1] {
		t.Fatalf("answer %+v", got)
	}
	for i, f := range got.Faces {
		c, err := png.DecodeConfig(bytes.NewReader(f.Crop))
		if err != nil || c.Width != 48 || c.Height != 48 {
			t.Errorf("crop %d: %+v %v", i, c, err)
		}
	}
	for _, q := range []string{"crop=affine", "crop_size=15", "crop_size=2000", "crop_size=x", "crop=box&crop_margin=-2", "crop_size=0"} {
		rec := do(t, s.Handler(), "POST", "/v1/crops?"+q, bytes.NewReader(img))
		if code, _ := apiError(t, rec); rec.Code != http.StatusBadRequest || code != "invalid_options" {
			t.Errorf("%s: status %d code %q, want 400 invalid_options", q, rec.Code, code)
		}
	}
}

// TestCropsRouteBounded: a crowd asked at a large crop size is refused
// with 413 crops_too_large before any crop is made; the top filter brings
// it within bounds.
func TestCropsRouteBounded(t *testing.T) {
	crowd := make([]cascade.Face, 65)
	for i := range crowd {
		crowd[i] = twoFaces[i%2]
	}
	s, _ := newServer(t, server.Config{}, &fakeDetector{faces: crowd})
	img := pngBytes(t, 120, 80)
	rec := do(t, s.Handler(), "POST", "/v1/crops?crop_size=1024", bytes.NewReader(img))
	if code, msg := apiError(t, rec); rec.Code != http.StatusRequestEntityTooLarge || code != "crops_too_large" || !strings.Contains(msg, "top") {
		t.Errorf("65 crops of 1024: status %d code %q message %q, want 413 crops_too_large naming top", rec.Code, code, msg)
	}
	rec = do(t, s.Handler(), "POST", "/v1/crops?crop_size=1024&top=2", bytes.NewReader(img))
	var got struct {
		Faces []struct {
			Crop []byte `json:"crop"`
		} `json:"faces"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusOK || len(got.Faces) != 2 {
		t.Fatalf("top=2: status %d, %d faces, %v", rec.Code, len(got.Faces), err)
	}
	if c, err := png.DecodeConfig(bytes.NewReader(got.Faces[1].Crop)); err != nil || c.Width != 1024 {
		t.Errorf("top=2: crop %+v %v, want 1024 wide", c, err)
	}
	rec = do(t, s.Handler(), "POST", "/v1/crops", bytes.NewReader(img))
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusOK || len(got.Faces) != 65 {
		t.Errorf("65 crops of 112: status %d, %d faces, %v", rec.Code, len(got.Faces), err)
	}
}
