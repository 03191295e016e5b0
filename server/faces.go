package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mtcnn-go/mtcnn/align"
	"github.com/mtcnn-go/mtcnn/anonymize"
	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
	"github.com/mtcnn-go/mtcnn/jpegblock"
	"github.com/mtcnn-go/mtcnn/orient"
	"github.com/mtcnn-go/mtcnn/quality"
)

// faceQuery is what every detecting route reads beside the detector's
// options: the rotation sweep and the filters.
type faceQuery struct {
	angles []float64
	filter quality.Filter
}

// parseFaceQuery reads rotate, rotate_step, largest, top, min_score and
// max_yaw.
func parseFaceQuery(q url.Values) (faceQuery, error) {
	var fq faceQuery
	bad := func(name, v string, err error) error {
		return newError(http.StatusBadRequest, "invalid_options", "%s %q is not valid: %v", name, v, err)
	}
	num := func(name string) (float64, bool, error) {
		v := q.Get(name)
		if v == "" {
			return 0, false, nil
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, false, bad(name, v, err)
		}
		return f, true, nil
	}
	var err error
	rot, step := q.Get("rotate"), q.Get("rotate_step")
	if rot != "" && step != "" {
		return fq, newError(http.StatusBadRequest, "invalid_options", "rotate and rotate_step exclude each other")
	}
	if fq.angles, err = orient.ParseAngles(rot); err != nil {
		return fq, bad("rotate", rot, err)
	}
	if f, ok, err := num("rotate_step"); err != nil {
		return fq, err
	} else if ok {
		if fq.angles, err = orient.Step(f); err != nil {
			return fq, bad("rotate_step", step, err)
		}
	}
	if v := q.Get("largest"); v != "" {
		if fq.filter.Largest, err = strconv.ParseBool(v); err != nil {
			return fq, bad("largest", v, err)
		}
	}
	if v := q.Get("top"); v != "" {
		if fq.filter.Top, err = strconv.Atoi(v); err != nil {
			return fq, bad("top", v, err)
		}
	}
	f, _, err := num("min_score")
	if err != nil {
		return fq, err
	}
	fq.filter.MinScore = float32(f)
	if fq.filter.MaxYaw, _, err = num("max_yaw"); err != nil {
		return fq, err
	}
	if err := fq.filter.Validate(); err != nil {
		return fq, newError(http.StatusBadRequest, "invalid_options", "%v", err)
	}
	return fq, nil
}

// detect runs the detection with the sweep and the filters; it returns
// each kept face's rotation beside it.
func (fq faceQuery) detect(ctx context.Context, det Detector, img image.Image, opts cascade.Options, rots *[]float64) ([]cascade.Face, cascade.Stats, error) {
	faces, r, st, err := orient.Detect(ctx, det, img, opts, fq.angles)
	if err != nil || fq.filter.IsZero() {
		*rots = r
		return faces, st, err
	}
	idx := fq.filter.Select(faces)
	kept, krots := make([]cascade.Face, len(idx)), make([]float64, len(idx))
	for i, k := range idx {
		kept[i], krots[i] = faces[k], r[k]
	}
	*rots = krots
	return kept, st, nil
}

// extraCost is what fq's rotation sweep adds to a w x h request's memory
// cost: the image as NRGBA (4 bytes a pixel), one rotated canvas at a time
// (4 bytes a canvas pixel; at 45 degrees a square's canvas is twice its
// area) and whatever more a detection of the largest canvas needs than
// one of the image. Without a turned angle it is 0.
func (fq faceQuery) extraCost(w, h int, opts cascade.Options) int64 {
	var canvas, work int64
	base := cascade.WorkingSet(w, h, opts)
	for _, a := range fq.angles {
		if math.Mod(a, 360) == 0 {
			continue
		}
		s, c := math.Sincos(a * math.Pi / 180)
		s, c = math.Abs(s), math.Abs(c)
		dw := int(math.Ceil(float64(w)*c+float64(h)*s)) + 1
		dh := int(math.Ceil(float64(w)*s+float64(h)*c)) + 1
		canvas = max(canvas, 4*int64(dw)*int64(dh))
		work = max(work, cascade.WorkingSet(dw, dh, opts)-base)
	}
	if canvas == 0 {
		return 0
	}
	return 4*int64(w)*int64(h) + canvas + work
}

// faceRecordList is the faces of a detection answer: each face with its
// rotation, pose and quality.
type faceRecordList = []quality.Record

// records returns d's faces with rotation, pose and quality.
func (d *detection) records() []quality.Record {
	return quality.Describe(d.img, d.faces, d.rots)
}

// maxCropPixels caps the pixels of all the crops of one /v1/crops answer
// (64 Mi: 64 crops of 1024x1024, 5349 of 112x112), so that a crowd asked
// at a large crop size cannot make an unbounded answer.
const maxCropPixels = 1 << 26

// cropRecord is one face of the /v1/crops answer.
type cropRecord struct {
	quality.Record
	// Crop is the PNG, base64.
	Crop string `json:"crop"`
}

// handleCrops serves POST /v1/crops: the faces with their crops.
func (s *Server) handleCrops(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var opts align.Options
	var err error
	if v := q.Get("crop"); v != "" {
		if opts.Mode, err = align.ParseMode(strings.ToLower(v)); err != nil {
			s.writeError(w, r, newError(http.StatusBadRequest, "invalid_options", "%v", err))
			return
		}
	}
	if v := q.Get("crop_size"); v != "" {
		if opts.Size, err = strconv.Atoi(v); err != nil || opts.Size == 0 {
			opts.Size = -1 // refused by Validate
		}
	}
	if v := q.Get("crop_margin"); v != "" {
		if opts.Margin, err = strconv.ParseFloat(v, 64); err != nil {
			opts.Margin = -1
		}
	}
	if err := opts.Validate(); err != nil {
		s.writeError(w, r, newError(http.StatusBadRequest, "invalid_options", "%v", err))
		return
	}
	d, release, err := s.detect(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer release()
	size := opts.Size
	if size == 0 {
		size = align.DefaultSize
	}
	if total := int64(len(d.faces)) * int64(size) * int64(size); total > maxCropPixels {
		s.writeError(w, r, newError(http.StatusRequestEntityTooLarge, "crops_too_large",
			"%d crops of %dx%d would total %d pixels, more than %d; ask for fewer faces (top, largest, min_score) or a smaller crop_size",
			len(d.faces), size, size, total, maxCropPixels))
		return
	}
	recs := d.records()
	out := make([]cropRecord, len(recs))
	var buf bytes.Buffer
	for i := range recs {
		// One crop at a time: only its PNG is kept.
		crop, err := align.Crop(d.img, d.faces[i], opts)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		buf.Reset()
		if err := png.Encode(&buf, crop); err != nil {
			s.writeError(w, r, fmt.Errorf("encoding a crop: %w", err))
			return
		}
		out[i] = cropRecord{Record: recs[i], Crop: base64.StdEncoding.EncodeToString(buf.Bytes())}
	}
	b := d.img.Bounds()
	writeJSON(w, http.StatusOK, struct {
		Width  int          `json:"width"`
		Height int          `json:"height"`
		Faces  []cropRecord `json:"faces"`
	}{b.Dx(), b.Dy(), out})
}

// parseAnonymize reads mode, mask_scale, boxes, threshold and dry_run
// from q.
func parseAnonymize(q url.Values) (anonymize.Options, bool, error) {
	var o anonymize.Options
	bad := func(name, v string) error {
		return newError(http.StatusBadRequest, "invalid_options", "%s %q is not valid", name, v)
	}
	if v := q.Get("mode"); v != "" {
		m, err := anonymize.ParseMode(strings.ToLower(v))
		if err != nil {
			return o, false, newError(http.StatusBadRequest, "invalid_options", "%v", err)
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
	// Budgeted as an annotating answer (8 bytes per pixel): the masks'
	// copy or the block-exact JPEG's coefficients, decode and output.
	d, release, err := s.detectFor(w, r, true)
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
	if !dry && imageio.OutputFormat(format) == "jpeg" {
		// Block-exact: only the JPEG blocks under the masks are
		// re-encoded, when the input allows (else all of it).
		_, err = jpegblock.WriteEdited(&buf, d.data, out, imageio.JPEGQuality)
	} else {
		format, err = imageio.Encode(&buf, out, format)
	}
	if err != nil {
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
