package server_test

import (
	"bytes"
	"encoding/binary"
	"image/jpeg"
	"net/http"
	"testing"

	"github.com/mtcnn-go/mtcnn/internal/testenv"
	"github.com/mtcnn-go/mtcnn/server"
)

// markersBeforeScan lists the markers of a JPEG up to its first SOS.
func markersBeforeScan(t *testing.T, d []byte) []byte {
	t.Helper()
	if len(d) < 4 || d[0] != 0xFF || d[1] != 0xD8 {
		t.Fatalf("not a JPEG: % x", d[:min(4, len(d))])
	}
	var ms []byte
	for i := 2; ; {
		if i+4 > len(d) || d[i] != 0xFF {
			t.Fatalf("bad marker at %d", i)
		}
		m := d[i+1]
		ms = append(ms, m)
		if m == 0xDA {
			return ms
		}
		i += 2 + int(binary.BigEndian.Uint16(d[i+2:]))
	}
}

// TestAnonymizeRouteStripsMetadata: a JPEG carrying EXIF (orientation and
// GPS), XMP and a comment comes back a JPEG turned upright with none of
// them: no APPn or COM segment and none of their bytes.
func TestAnonymizeRouteStripsMetadata(t *testing.T) {
	s, _ := newServer(t, server.Config{}, &fakeDetector{faces: twoFaces})
	var plain bytes.Buffer
	if err := jpeg.Encode(&plain, noisy(120, 80), nil); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"", "?mode=fill&boxes=true"} {
		rec := do(t, s.Handler(), "POST", "/v1/anonymize"+q, bytes.NewReader(testenv.JPEGWithMetadata(plain.Bytes())), "Content-Type", "image/jpeg")
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/jpeg" || rec.Header().Get("X-Face-Count") != "2" {
			t.Fatalf("%q: status %d, type %q, count %q: %s", q, rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("X-Face-Count"), rec.Body)
		}
		out := rec.Body.Bytes()
		for _, m := range markersBeforeScan(t, out) {
			if m >= 0xE0 && m <= 0xEF || m == 0xFE {
				t.Errorf("%q: answer has marker %#x (APPn or COM)", q, m)
			}
		}
		for _, s := range []string{"Exif", "xap", "secret", "GPS"} {
			if bytes.Contains(out, []byte(s)) {
				t.Errorf("%q: answer contains %q", q, s)
			}
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(out))
		if err != nil || cfg.Width != 80 || cfg.Height != 120 {
			t.Errorf("%q: answer is %dx%d (%v), want 80x120 (EXIF orientation 6 applied)", q, cfg.Width, cfg.Height, err)
		}
	}
}
