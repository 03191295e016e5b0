// Package reference reads the reference graph's outputs (the shared
// testdata/reference/min*/*.json files) and compares detections with them
// within the acceptance tolerances. It serves the golden tests of every
// package and tool that detects faces.
package reference

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/mtcnn-go/mtcnn/cascade"
)

// The acceptance tolerances: every box and landmark coordinate within
// TolPixels pixels and every score within TolScore of the reference.
const (
	TolPixels = 0.01
	TolScore  = 1e-5
)

// File is one reference output in the graph's own layout: boxes y1, x1,
// y2, x2 and landmarks y1..y5, x1..x5.
type File struct {
	Image  string `json:"image"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Params struct {
		MinSize    float32    `json:"min_size"`
		Thresholds [3]float32 `json:"thresholds"`
		Factor     float32    `json:"factor"`
	} `json:"params"`
	RawFaces []struct {
		Box       [4]float32  `json:"box"`
		Prob      float32     `json:"prob"`
		Landmarks [10]float32 `json:"landmarks"`
	} `json:"faces"`
}

// Load reads a reference JSON file.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &f, nil
}

// Glob lists the reference files under the shared folder, sorted.
func Glob(shared string) []string {
	files, _ := filepath.Glob(filepath.Join(shared, "testdata", "reference", "min*", "*.json"))
	sort.Strings(files)
	return files
}

// Options returns the cascade options the reference was made with.
func (f *File) Options() cascade.Options {
	return cascade.Options{MinSize: f.Params.MinSize, Factor: f.Params.Factor, Thresholds: f.Params.Thresholds}
}

// Faces returns the reference faces in cascade.Face's x-first layout.
func (f *File) Faces() []cascade.Face {
	out := make([]cascade.Face, len(f.RawFaces))
	for i, r := range f.RawFaces {
		out[i].Box = [4]float32{r.Box[1], r.Box[0], r.Box[3], r.Box[2]}
		out[i].Score = r.Prob
		for p := 0; p < 5; p++ {
			out[i].Landmarks[p] = [2]float32{r.Landmarks[5+p], r.Landmarks[p]}
		}
	}
	return out
}

// Diff is the result of comparing detections with a reference.
type Diff struct {
	Errors   []string // one line per difference beyond the tolerances
	MaxPixel float64  // largest coordinate difference over matched faces
	MaxScore float64  // largest score difference over matched faces
}

// Compare matches got with want face by face, in order, and reports every
// difference beyond the tolerances, including a different face count.
func Compare(got, want []cascade.Face) Diff {
	var d Diff
	if len(got) != len(want) {
		d.Errors = append(d.Errors, fmt.Sprintf("got %d faces, want %d", len(got), len(want)))
	}
	for i := 0; i < min(len(got), len(want)); i++ {
		g, w := got[i], want[i]
		px := 0.0
		for k := range 4 {
			px = max(px, math.Abs(float64(g.Box[k]-w.Box[k])))
		}
		for p := range 5 {
			for k := range 2 {
				px = max(px, math.Abs(float64(g.Landmarks[p][k]-w.Landmarks[p][k])))
			}
		}
		sc := math.Abs(float64(g.Score - w.Score))
		d.MaxPixel, d.MaxScore = max(d.MaxPixel, px), max(d.MaxScore, sc)
		if !(px <= TolPixels) || !(sc <= TolScore) {
			d.Errors = append(d.Errors, fmt.Sprintf("face %d: coordinates differ by %.4g px, score by %.3g\n got  %+v\n want %+v", i, px, sc, g, w))
		}
	}
	return d
}
