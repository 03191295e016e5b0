package server

import (
	"bytes"
	"embed"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/annotate"
)

// web holds the page served at / and the OpenAPI document.
//
//go:embed web/index.html web/app.js web/style.css web/openapi.json
//go:embed web/webcam.html web/webcam.js web/webcam.css
var web embed.FS

// formField is the multipart field that carries the image.
const formField = "image_file"

// routeTable lists every endpoint. The OpenAPI document must describe
// exactly these (see the openapi test).
func (s *Server) routeTable() []route {
	return []route{
		{method: http.MethodPost, path: "/infer", handler: s.handleAnnotate(false)},
		{method: http.MethodPost, path: "/v1/detect", handler: s.handleDetect},
		{method: http.MethodPost, path: "/v1/annotate", handler: s.handleAnnotate(true)},
		// DeepStack routes check the token themselves (bearer or api_key field), answering in DeepStack's shape.
		{method: http.MethodPost, path: "/v1/vision/face", public: true, handler: s.handleDeepStack("", DeepStackFaceMinConfidence)},
		{method: http.MethodPost, path: "/v1/vision/detection", public: true, handler: s.handleDeepStack("face", DeepStackDetectionMinConfidence)},
		{method: http.MethodPost, path: "/v1/anonymize", handler: s.handleAnonymize},
		{method: http.MethodPost, path: "/v1/crops", handler: s.handleCrops},
		{method: http.MethodGet, path: "/", handler: s.handleAsset("web/index.html", "text/html; charset=utf-8")},
		{method: http.MethodGet, path: "/app.js", handler: s.handleAsset("web/app.js", "text/javascript; charset=utf-8")},
		{method: http.MethodGet, path: "/style.css", handler: s.handleAsset("web/style.css", "text/css; charset=utf-8")},
		{method: http.MethodGet, path: "/openapi.json", handler: s.handleAsset("web/openapi.json", "application/json")},
		{method: http.MethodGet, path: "/webcam", handler: s.handleAsset("web/webcam.html", "text/html; charset=utf-8")},
		{method: http.MethodGet, path: "/webcam.js", handler: s.handleAsset("web/webcam.js", "text/javascript; charset=utf-8")},
		{method: http.MethodGet, path: "/webcam.css", handler: s.handleAsset("web/webcam.css", "text/css; charset=utf-8")},
		{method: http.MethodGet, path: "/healthz", public: true, handler: s.handleHealthz},
		{method: http.MethodGet, path: "/readyz", public: true, handler: s.handleReadyz},
		{method: http.MethodGet, path: "/metrics", handler: s.metrics.handler().ServeHTTP},
	}
}

// detectResponse is the JSON answer of /v1/detect.
type detectResponse struct {
	Width    int            `json:"width"`
	Height   int            `json:"height"`
	Faces    faceRecordList `json:"faces"`
	TimingMS timingMS       `json:"timing_ms"`
}

// timingMS is the detection's time per stage and in all, in milliseconds.
type timingMS struct {
	PNet  float64 `json:"pnet"`
	RNet  float64 `json:"rnet"`
	ONet  float64 `json:"onet"`
	Total float64 `json:"total"`
}

// ms converts a duration to fractional milliseconds.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// detection is the outcome of one detection request.
type detection struct {
	img   image.Image
	codec string // the input's format, as imageio.Decode names it
	data  []byte // the input's bytes
	rots  []float64
	faces []cascade.Face
	stats cascade.Stats
	total time.Duration
}

// handleDetect serves POST /v1/detect.
func (s *Server) handleDetect(w http.ResponseWriter, r *http.Request) {
	d, release, err := s.detect(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer release()
	b := d.img.Bounds()
	writeJSON(w, http.StatusOK, detectResponse{
		Width: b.Dx(), Height: b.Dy(), Faces: d.records(),
		TimingMS: timingMS{
			PNet: ms(d.stats.Stage[0]), RNet: ms(d.stats.Stage[1]), ONet: ms(d.stats.Stage[2]),
			Total: ms(d.total),
		},
	})
}

// handleAnnotate serves POST /infer (always PNG) and, with withFormat,
// POST /v1/annotate (?format=png|jpeg).
func (s *Server) handleAnnotate(withFormat bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		format := "png"
		if withFormat {
			switch f := strings.ToLower(r.URL.Query().Get("format")); f {
			case "", "png":
			case "jpeg", "jpg":
				format = "jpeg"
			default:
				s.writeError(w, r, newError(http.StatusBadRequest, "invalid_format",
					"format %q is not png or jpeg", f))
				return
			}
		}
		d, release, err := s.detectFor(w, r, true)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		defer release()
		out := annotate.Draw(d.img, d.faces)
		var buf bytes.Buffer
		if format == "jpeg" {
			err = jpeg.Encode(&buf, out, &jpeg.Options{Quality: 90})
		} else {
			err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, out)
		}
		if err != nil {
			s.writeError(w, r, fmt.Errorf("encoding the annotated image: %w", err))
			return
		}
		h := w.Header()
		h.Set("Content-Type", "image/"+format)
		h.Set("Content-Length", strconv.Itoa(buf.Len()))
		h.Set("X-Face-Count", strconv.Itoa(len(d.faces)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(buf.Bytes())
	}
}

// rootWriter returns the innermost of a chain of wrapped writers.
func rootWriter(w http.ResponseWriter) http.ResponseWriter {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}

// bodyKind tells a multipart form (true) from a raw image body (false),
// or rejects the content type. A raw body may be declared as
// application/octet-stream, image/*, or not at all; curl's default
// application/x-www-form-urlencoded for --data-binary is accepted too.
func bodyKind(contentType string) (multipart bool, err error) {
	if contentType == "" {
		return false, nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false, newError(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"cannot parse Content-Type %q", contentType)
	}
	switch {
	case mt == "multipart/form-data":
		return true, nil
	case mt == "application/octet-stream", strings.HasPrefix(mt, "image/"),
		mt == "application/x-www-form-urlencoded":
		return false, nil
	}
	return false, newError(http.StatusUnsupportedMediaType, "unsupported_media_type",
		"Content-Type %s is not accepted: send the image bytes as application/octet-stream or image/*, "+
			"or a multipart/form-data form with the image in the %q field", mt, formField)
}

// handleAsset serves one embedded file.
func (s *Server) handleAsset(name, contentType string) http.HandlerFunc {
	data, err := web.ReadFile(name)
	if err != nil {
		panic("server: missing embedded file " + name) // a build error, caught by every test
	}
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", contentType)
		h.Set("Content-Length", strconv.Itoa(len(data)))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		if strings.HasPrefix(contentType, "text/html") {
			h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:; "+
				"script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'")
		}
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(data)
		}
	}
}

// handleHealthz serves GET /healthz: the process is up.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz serves GET /readyz: 200 once a detector is installed.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if !s.Ready() {
		s.writeError(w, r, errNotReady)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
