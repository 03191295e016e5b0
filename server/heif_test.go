package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"testing"

	"github.com/mtcnn-go/mtcnn/server"
)

// TestDetectHEIF posts the HEIC and AVIF goldens with their own media
// types: accepted, decoded (512x512) and detected.
func TestDetectHEIF(t *testing.T) {
	det := &fakeDetector{faces: twoFaces}
	s, _ := newServer(t, server.Config{}, det)
	for _, tc := range []struct{ file, ct string }{
		{"../internal/imageio/testdata/astronaut.heic", "image/heic"},
		{"../internal/imageio/testdata/astronaut.avif", "image/avif"},
	} {
		data, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		rec := do(t, s.Handler(), "POST", "/v1/detect", bytes.NewReader(data), "Content-Type", tc.ct)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", tc.ct, rec.Code, rec.Body)
		}
		var got struct{ Width, Height int }
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.Width != 512 || got.Height != 512 {
			t.Errorf("%s: %s (%v)", tc.ct, rec.Body, err)
		}
	}
}
