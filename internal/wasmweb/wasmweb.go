// Package wasmweb is the browser side of the detector: the detection call
// that the js/wasm build (cmd/mtcnn-wasm) exposes to JavaScript, the
// JavaScript glue (mtcnn-wasm.js) that runs that build in a Web Worker,
// and an HTTP handler that serves the glue, the wasm and Go's
// wasm_exec.js under /wasm/.
//
// The release (internal/release) writes mtcnn.wasm, wasm_exec.js and
// mtcnn-wasm.js into dist/web/wasm/; a server mounts Handler on that
// folder. A page then loads the glue and calls, from JavaScript:
//
//	<script src="wasm/mtcnn-wasm.js"></script>
//	if (await mtcnnWasm.available()) {
//	  const result = await mtcnnWasm.detect(fileOrBytes, {min_size: 20});
//	  // result is shaped like the answer of POST /v1/detect
//	}
package wasmweb

import (
	"bytes"
	"compress/gzip"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
)

// The files of the browser build, as served under Prefix.
const (
	// Prefix is the URL path the files are served under.
	Prefix = "/wasm/"
	// WASMFile is the js/wasm build of cmd/mtcnn-wasm.
	WASMFile = "mtcnn.wasm"
	// GzipFile, when present beside WASMFile, is WASMFile gzipped (about
	// a quarter of its size), served instead to clients that accept gzip.
	GzipFile = WASMFile + ".gz"
	// ExecFile is Go's wasm_exec.js, from the Go that built WASMFile.
	ExecFile = "wasm_exec.js"
	// GlueFile is the page- and worker-side JavaScript in this package.
	GlueFile = "mtcnn-wasm.js"
)

//go:embed mtcnn-wasm.js
var glue []byte

// Glue returns a copy of mtcnn-wasm.js.
func Glue() []byte { return bytes.Clone(glue) }

// Options are the detection options JavaScript passes, named like the
// HTTP API's query parameters: {"min_size": 20, "factor": 0.709,
// "thresholds": [0.6, 0.7, 0.7]}. Absent or zero fields mean the defaults;
// thresholds, when given, must be three.
type Options struct {
	MinSize    float32   `json:"min_size"`
	Factor     float32   `json:"factor"`
	Thresholds []float32 `json:"thresholds"`
}

// ParseOptions decodes JSON options; empty input, "null" and "{}" mean
// the defaults. Unknown fields are an error, so a misspelt option is not
// silently ignored.
func ParseOptions(data []byte) (cascade.Options, error) {
	var o Options
	if s := strings.TrimSpace(string(data)); s != "" && s != "null" {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			return cascade.Options{}, fmt.Errorf("%w: %w", cascade.ErrOptions, err)
		}
	}
	opts := cascade.Options{MinSize: o.MinSize, Factor: o.Factor}
	switch len(o.Thresholds) {
	case 0:
	case 3:
		opts.Thresholds = [3]float32(o.Thresholds)
	default:
		return cascade.Options{}, fmt.Errorf("%w: want three thresholds, got %d", cascade.ErrOptions, len(o.Thresholds))
	}
	if err := opts.Validate(); err != nil {
		return cascade.Options{}, err
	}
	return opts, nil
}

// Result is the answer of one detection, shaped like the JSON answer of
// the server's POST /v1/detect so that a page can draw either.
type Result struct {
	Width    int            `json:"width"`
	Height   int            `json:"height"`
	Faces    []cascade.Face `json:"faces"`
	TimingMS Timing         `json:"timing_ms"`
}

// Timing is the detection's time per stage and in all, in milliseconds.
type Timing struct {
	PNet  float64 `json:"pnet"`
	RNet  float64 `json:"rnet"`
	ONet  float64 `json:"onet"`
	Total float64 `json:"total"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Detect decodes the encoded image data (any format imageio reads, JPEG
// EXIF orientation applied) within lim and detects the faces in it.
func Detect(ctx context.Context, det *cascade.Detector, data []byte, opts cascade.Options, lim imageio.Limits) (*Result, error) {
	img, _, err := imageio.Decode(bytes.NewReader(data), lim)
	if err != nil {
		return nil, fmt.Errorf("wasmweb: %w", err)
	}
	start := time.Now()
	faces, st, err := det.DetectStats(ctx, img, opts)
	if err != nil {
		return nil, fmt.Errorf("wasmweb: %w", err)
	}
	b := img.Bounds()
	return &Result{
		Width: b.Dx(), Height: b.Dy(), Faces: faces,
		TimingMS: Timing{PNet: ms(st.Stage[0]), RNet: ms(st.Stage[1]), ONet: ms(st.Stage[2]), Total: ms(time.Since(start))},
	}, nil
}

// DetectJSON is Detect with JSON options in and the JSON result out: the
// call the js/wasm build exposes as mtcnnDetect.
func DetectJSON(ctx context.Context, det *cascade.Detector, data, options []byte, lim imageio.Limits) ([]byte, error) {
	opts, err := ParseOptions(options)
	if err != nil {
		return nil, fmt.Errorf("wasmweb: %w", err)
	}
	res, err := Detect(ctx, det, data, opts, lim)
	if err != nil {
		return nil, err
	}
	return json.Marshal(res)
}

// WriteGzip writes data gzipped at the best compression to path.
func WriteGzip(path string, data []byte) error {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(data); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("wasmweb: %w", err)
	}
	return nil
}
