package wasmweb

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
	"github.com/mtcnn-go/mtcnn/internal/reference"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
)

func TestParseOptions(t *testing.T) {
	for _, in := range []string{"", "null", " {} "} {
		o, err := ParseOptions([]byte(in))
		if err != nil || o != (cascade.Options{}) {
			t.Errorf("ParseOptions(%q) = %+v, %v; want the zero (default) options", in, o, err)
		}
	}
	o, err := ParseOptions([]byte(`{"min_size": 40, "factor": 0.5, "thresholds": [0.1, 0.2, 0.3]}`))
	want := cascade.Options{MinSize: 40, Factor: 0.5, Thresholds: [3]float32{0.1, 0.2, 0.3}}
	if err != nil || o != want {
		t.Errorf("ParseOptions = %+v, %v; want %+v", o, err, want)
	}
	for _, bad := range []string{`{"minsize": 40}`, `{"factor": 1.5}`, `{"thresholds": [0.1, 0.2]}`, `[1]`, `{"min_size": "x"}`} {
		if _, err := ParseOptions([]byte(bad)); !errors.Is(err, cascade.ErrOptions) {
			t.Errorf("ParseOptions(%s): %v, want an error wrapping cascade.ErrOptions", bad, err)
		}
	}
}

// TestDetectJSON checks the call mtcnnDetect makes against the reference
// output of ivan.png, and its errors.
func TestDetectJSON(t *testing.T) {
	shared := testenv.Shared(t)
	ref, err := reference.Load(filepath.Join(shared, "testdata", "reference", "min20", "ivan.json"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(shared, "testdata", "images", "ivan.png"))
	if err != nil {
		t.Fatal(err)
	}
	det, err := cascade.NewDefault()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p := ref.Params
	opts, _ := json.Marshal(map[string]any{"min_size": p.MinSize, "factor": p.Factor, "thresholds": p.Thresholds})
	out, err := DetectJSON(ctx, det, data, opts, imageio.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var res Result
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	if res.Width != ref.Width || res.Height != ref.Height {
		t.Errorf("size %dx%d, want %dx%d", res.Width, res.Height, ref.Width, ref.Height)
	}
	for _, e := range reference.Compare(res.Faces, ref.Faces()).Errors {
		t.Error(e)
	}
	if res.TimingMS.Total <= 0 || res.TimingMS.PNet <= 0 {
		t.Errorf("timing %+v, want positive", res.TimingMS)
	}
	for _, key := range []string{`"width"`, `"height"`, `"faces"`, `"timing_ms"`, `"pnet"`, `"total"`} {
		if !strings.Contains(string(out), key) {
			t.Errorf("JSON lacks %s (the /v1/detect field names): %s", key, out)
		}
	}

	if _, err := DetectJSON(ctx, det, []byte("not an image"), nil, imageio.Limits{}); !errors.Is(err, imageio.ErrUnsupported) {
		t.Errorf("garbage: %v, want imageio.ErrUnsupported", err)
	}
	if _, err := DetectJSON(ctx, det, data, nil, imageio.Limits{MaxPixels: 100}); !errors.Is(err, imageio.ErrTooLarge) {
		t.Errorf("over the pixel cap: %v, want imageio.ErrTooLarge", err)
	}
	if _, err := DetectJSON(ctx, det, data, []byte(`{"factor": 2}`), imageio.Limits{}); !errors.Is(err, cascade.ErrOptions) {
		t.Errorf("bad options: %v, want cascade.ErrOptions", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := DetectJSON(cctx, det, data, nil, imageio.Limits{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
}
