package server

import (
	"bytes"
	"fmt"
	"image"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mtcnn-go/mtcnn/anonymize"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
)

// parseAnonymize reads mode, mask_scale, boxes, threshold and dry_run
// from q.
func parseAnonymize(q url.Values) (anonymize.Options, bool, error) {
	var o anonymize.Options
	bad := func(name, v string) error {
		return newError(http.StatusBadRequest, "invalid_parameter", "%s %q is not valid", name, v)
	}
	if v := q.Get("mode"); v != "" {
		m, err := anonymize.ParseMode(strings.ToLower(v))
		if err != nil {
			return o, false, newError(http.StatusBadRequest, "invalid_parameter", "%v", err)
		}
		o.Mode = m
	}
	if v := q.Get("mask_scale"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0 && f <= 10) {
			return o, false, bad("mask_scale", v)
		}
		o.MaskScale = f
	}
	var err error
	if v := q.Get("boxes"); v != "" {
		if o.Box, err = strconv.ParseBool(v); err != nil {
			return o, false, bad("boxes", v)
		}
	}
	if v := q.Get("threshold"); v != "" {
		f, err := strconv.ParseFloat(v, 32)
		if err != nil || !(f >= 0 && f <= 1) {
			return o, false, bad("threshold", v)
		}
		o.Threshold = float32(f)
	}
	dry := false
	if v := q.Get("dry_run"); v != "" {
		if dry, err = strconv.ParseBool(v); err != nil {
			return o, false, bad("dry_run", v)
		}
	}
	return o, dry, nil
}

// handleAnonymize serves POST /v1/anonymize: the image with its faces
// hidden, in the input's format (JPEG for JPEG, PNG otherwise), without
// metadata; with dry_run=true a PNG with the masks outlined.
func (s *Server) handleAnonymize(w http.ResponseWriter, r *http.Request) {
	aopts, dry, err := parseAnonymize(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if q := r.URL.Query(); q.Get("threshold") != "" && q.Get("thresholds") == "" {
		// The threshold also lowers (or raises) O-Net's, so that faces
		// scoring below the default 0.7 can be hidden too.
		q.Set("thresholds", fmt.Sprintf("0.6,0.7,%g", aopts.Threshold))
		r.URL.RawQuery = q.Encode()
	}
	d, release, err := s.detect(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer release()
	n := len(anonymize.Regions(d.img.Bounds(), d.faces, aopts))
	var out image.Image
	format := d.codec
	if dry {
		format = "png"
		out, err = anonymize.DrawMasks(d.img, d.faces, aopts)
	} else {
		out = anonymize.Writable(d.img)
		err = anonymize.Apply(out, d.faces, aopts)
	}
	if err != nil {
		s.writeError(w, r, fmt.Errorf("anonymizing: %w", err))
		return
	}
	var buf bytes.Buffer
	if format, err = imageio.Encode(&buf, out, format); err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/"+format)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("X-Face-Count", strconv.Itoa(n))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
