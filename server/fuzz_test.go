package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mtcnn-go/mtcnn/server"
)

// FuzzDetectHandler posts arbitrary bodies, content types and query
// strings to the detection endpoints. Whatever the client sends, the
// answer is 200 or a JSON error with a code and a message, and never a
// 5xx other than 503.
func FuzzDetectHandler(f *testing.F) {
	png := pngBytes(f, 24, 16)
	mp, mpType := multipartBody(f, "image_file", png)
	var mpBuf bytes.Buffer
	_, _ = mpBuf.ReadFrom(mp)
	f.Add(png, "image/png", "min_size=20&factor=0.709&thresholds=0.6,0.7,0.7", uint8(0))
	f.Add(png, "", "min_size=0&factor=0&thresholds=0,0,0", uint8(1))
	f.Add(png, "application/octet-stream", "min_size=1&factor=0.99999", uint8(2))
	f.Add(mpBuf.Bytes(), mpType, "format=jpeg", uint8(1))
	f.Add(mpBuf.Bytes(), "multipart/form-data; boundary=x", "", uint8(0))
	f.Add(hugePNGHeader(2147483647, 2147483647), "image/png", "", uint8(0))
	f.Add([]byte{}, "", "", uint8(0))
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"image_file\"\r\n\r\nx\r\n--b--\r\n"), "multipart/form-data; boundary=b", "", uint8(0))
	det := &fakeDetector{faces: twoFaces}
	s, _ := newServer(f, server.Config{MaxBodyBytes: 1 << 20, MaxPixels: 1 << 18, MaxMemory: 256 << 20}, det)
	endpoints := []string{"/v1/detect", "/v1/annotate", "/infer"}
	f.Fuzz(func(t *testing.T, body []byte, contentType, query string, endpoint uint8) {
		ep := endpoints[int(endpoint)%len(endpoints)]
		target := ep
		if query != "" && !strings.ContainsAny(query, " #\x00\r\n\t") {
			target += "?" + query
		}
		req, err := http.NewRequest(http.MethodPost, "http://x"+target, bytes.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusOK:
			return
		case rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable:
			t.Fatalf("%s %q: status %d: %s", target, contentType, rec.Code, rec.Body)
		}
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("status %d with body %q", rec.Code, rec.Body)
		}
	})
}
