package cascade

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	_ "image/png"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mtcnn-go/mtcnn/internal/testenv"
)

// Acceptance tolerances against the reference (testdata/reference/README.md).
const (
	tolPixels = 0.01
	tolScore  = 1e-5
)

// refFile is a reference output in the graph's own layout.
type refFile struct {
	Image  string `json:"image"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Params struct {
		MinSize    float32    `json:"min_size"`
		Thresholds [3]float32 `json:"thresholds"`
		Factor     float32    `json:"factor"`
	} `json:"params"`
	Faces []struct {
		Box       [4]float32  `json:"box"` // y1, x1, y2, x2
		Prob      float32     `json:"prob"`
		Landmarks [10]float32 `json:"landmarks"` // y1..y5, x1..x5
	} `json:"faces"`
}

// asFaces converts the reference's y-first layout to Face.
func (r *refFile) asFaces() []Face {
	out := make([]Face, len(r.Faces))
	for i, f := range r.Faces {
		out[i].Box = [4]float32{f.Box[1], f.Box[0], f.Box[3], f.Box[2]}
		out[i].Score = f.Prob
		for p := 0; p < 5; p++ {
			out[i].Landmarks[p] = [2]float32{f.Landmarks[5+p], f.Landmarks[p]}
		}
	}
	return out
}

func loadRef(t *testing.T, path string) *refFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r refFile
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &r
}

func loadImage(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// compareFaces reports every difference between got and want beyond the
// tolerances, faces matched in order.
func compareFaces(got, want []Face) (errs []string, maxPx, maxScore float64) {
	if len(got) != len(want) {
		errs = append(errs, fmt.Sprintf("got %d faces, want %d", len(got), len(want)))
	}
	for i := 0; i < min(len(got), len(want)); i++ {
		g, w := got[i], want[i]
		d := float64(0)
		for k := range 4 {
			d = max(d, math.Abs(float64(g.Box[k]-w.Box[k])))
		}
		for p := range 5 {
			for k := range 2 {
				d = max(d, math.Abs(float64(g.Landmarks[p][k]-w.Landmarks[p][k])))
			}
		}
		ds := math.Abs(float64(g.Score - w.Score))
		maxPx, maxScore = max(maxPx, d), max(maxScore, ds)
		if !(d <= tolPixels) || !(ds <= tolScore) {
			errs = append(errs, fmt.Sprintf("face %d: max coordinate diff %.4g px, score diff %.3g\n got  %v\n want %v", i, d, ds, g, w))
		}
	}
	return errs, maxPx, maxScore
}

// TestGolden runs the cascade on every reference image at min size 20 and
// 40 and compares with what the reference graph output.
func TestGolden(t *testing.T) {
	shared := testenv.Shared(t)
	det, err := NewDefault()
	if err != nil {
		t.Fatal(err)
	}
	refs, _ := filepath.Glob(filepath.Join(shared, "testdata", "reference", "min*", "*.json"))
	sort.Strings(refs)
	if len(refs) == 0 {
		t.Fatal("no reference outputs found")
	}
	for _, path := range refs {
		name := filepath.Base(filepath.Dir(path)) + "/" + strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			if testing.Short() && strings.Contains(name, "closeup") {
				t.Skip("large image skipped in -short mode")
			}
			ref := loadRef(t, path)
			img := loadImage(t, filepath.Join(shared, "testdata", "images", ref.Image))
			if b := img.Bounds(); b.Dx() != ref.Width || b.Dy() != ref.Height {
				t.Fatalf("image is %v, reference says %dx%d", b, ref.Width, ref.Height)
			}
			opts := Options{MinSize: ref.Params.MinSize, Factor: ref.Params.Factor, Thresholds: ref.Params.Thresholds}
			got, err := det.Detect(context.Background(), img, opts)
			if err != nil {
				t.Fatal(err)
			}
			errs, px, sc := compareFaces(got, ref.asFaces())
			for _, e := range errs {
				t.Error(e)
			}
			t.Logf("%d faces, max diff %.3g px, %.3g score", len(got), px, sc)
		})
	}
}
