package server

import (
	"bytes"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzDeepStackForm feeds arbitrary multipart bodies to the DeepStack
// form reader and arbitrary min_confidence values to its parser: they
// must never panic, every failure must be a 4xx, and what they accept
// must respect their bounds.
func FuzzDeepStackForm(f *testing.F) {
	f.Add([]byte("--B\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n\x89PNG\r\n--B\r\n"+
		"Content-Disposition: form-data; name=\"min_confidence\"\r\n\r\n0.7\r\n--B--\r\n"), "0.7")
	f.Add([]byte("--B\r\nContent-Disposition: form-data; name=\"api_key\"\r\n\r\nk\r\n--B--\r\n"), "abc")
	f.Add([]byte("--B\r\nno colon\r\n\r\nx\r\n--B--\r\n"), "1.5")
	f.Add([]byte(""), "NaN")
	f.Add([]byte("--B--\r\n"), "-1e309")
	f.Fuzz(func(t *testing.T, body []byte, minConf string) {
		r := httptest.NewRequest(http.MethodPost, "/v1/vision/face", bytes.NewReader(body))
		r.Header.Set("Content-Type", "multipart/form-data; boundary=B")
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 1<<20)
		form, err := readDeepStackForm(r)
		if err != nil {
			if e := errorFor(err); e.Status < 400 || e.Status >= 500 {
				t.Fatalf("form error %v answered %d", err, e.Status)
			}
		} else {
			if len(form.minConf) > maxFieldBytes || len(form.apiKey) > maxFieldBytes {
				t.Fatalf("field over %d bytes accepted", maxFieldBytes)
			}
			if !form.hasImage && form.image != nil {
				t.Fatal("image bytes without an image field")
			}
		}
		v, err := parseMinConfidence(minConf, true, 0.55)
		if err != nil {
			if e := errorFor(err); e.Status != http.StatusBadRequest {
				t.Fatalf("min_confidence %q: %v answered %d", minConf, err, e.Status)
			}
			return
		}
		if math.IsNaN(v) || math.IsInf(v, 0) || v > 1 {
			t.Fatalf("min_confidence %q accepted as %v", minConf, v)
		}
	})
}
