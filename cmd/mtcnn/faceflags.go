package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mtcnn-go/mtcnn/align"
	"github.com/mtcnn-go/mtcnn/batch"
	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/detopts"
	"github.com/mtcnn-go/mtcnn/orient"
	"github.com/mtcnn-go/mtcnn/quality"
)

// rotateFlags are the rotation sweep's flags, shared by detect and
// anonymize.
type rotateFlags struct {
	rotate string
	step   float64
	angles []float64 // set by parse
}

func addRotateFlags(fs *flag.FlagSet) *rotateFlags {
	rf := new(rotateFlags)
	fs.StringVar(&rf.rotate, "rotate", "", "also detect on the image turned clockwise by these `degrees`: auto (= 0,90,180,270) or a list such as 0,90,180,270; "+
		"faces are merged across rotations and each reports its rotation (each angle costs one detection)")
	fs.Float64Var(&rf.step, "rotate-step", 0, "sweep all rotations 0, `STEP`, 2*STEP, ... below 360 degrees (at least 5), for tilted heads")
	return rf
}

func (rf *rotateFlags) parse() error {
	if rf.rotate != "" && rf.step != 0 {
		return fmt.Errorf("-rotate and -rotate-step exclude each other")
	}
	var err error
	if rf.step != 0 {
		rf.angles, err = orient.Step(rf.step)
	} else {
		rf.angles, err = orient.ParseAngles(rf.rotate)
	}
	return err
}

// faceFlags are detect's flags for the face-level tools: aligned crops,
// filters and the rotation sweep.
type faceFlags struct {
	rot       *rotateFlags
	cropsDir  string
	cropMode  string
	cropSize  int
	margin    float64
	largest   bool
	top       int
	minScore  float64
	maxYaw    float64
	cropOpts  align.Options  // set by parse
	filter    quality.Filter // set by parse
	withCrops bool
}

func addFaceFlags(fs *flag.FlagSet) *faceFlags {
	ff := &faceFlags{rot: addRotateFlags(fs)}
	fs.StringVar(&ff.cropsDir, "crops", "", "write each face's crop to `DIR`/<image name>_<index>.png, mirroring folders as -o does (index as in the output, from 0; existing files are not overwritten)")
	fs.StringVar(&ff.cropMode, "crop", "arcface", "crop kind: arcface (aligned on the five landmarks) or box (facenet-pytorch's extract_face)")
	fs.IntVar(&ff.cropSize, "crop-size", align.DefaultSize, "crop side in pixels, 16 to 1024")
	fs.Float64Var(&ff.margin, "crop-margin", 0, "box crops: margin in pixels of the output scale, as facenet-pytorch's")
	fs.BoolVar(&ff.largest, "largest", false, "keep only the face with the largest box (facenet-pytorch select_largest)")
	fs.IntVar(&ff.top, "top", 0, "keep the `N` best-scoring faces, best first")
	fs.Float64Var(&ff.minScore, "min-score", 0, "drop faces scoring below this")
	fs.Float64Var(&ff.maxYaw, "max-yaw", 0, "drop faces turned more than this many `degrees` left or right (estimated from the landmarks)")
	return ff
}

// parse checks the flags and prepares the options; errors are usage
// errors.
func (ff *faceFlags) parse() error {
	if err := ff.rot.parse(); err != nil {
		return err
	}
	mode, err := align.ParseMode(ff.cropMode)
	if err != nil {
		return err
	}
	ff.cropOpts = align.Options{Mode: mode, Size: ff.cropSize, Margin: ff.margin}
	if ff.cropSize == 0 {
		ff.cropOpts.Size = -1 // 0 would mean the default; refuse it as out of range
	}
	if err := ff.cropOpts.Validate(); err != nil {
		return err
	}
	ff.filter = quality.Filter{Largest: ff.largest, Top: ff.top, MinScore: float32(ff.minScore), MaxYaw: ff.maxYaw}
	if ff.minScore > 1 || ff.minScore < 0 {
		return fmt.Errorf("min score %g is outside [0, 1]", ff.minScore)
	}
	if err := ff.filter.Validate(); err != nil {
		return err
	}
	ff.withCrops = ff.cropsDir != ""
	if ff.withCrops {
		if err := os.MkdirAll(ff.cropsDir, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// faceDetector is the detector of mtcnn detect: the cascade with the
// rotation sweep and the filters of the face flags, after the options are
// checked against the image's size. It is safe for concurrent use: the
// rotation of each face found is kept, keyed by the image, until records
// asks for it.
type faceDetector struct {
	det  *cascade.Detector
	ff   *faceFlags
	rots sync.Map // image.Image -> []float64
}

// Detect implements batch.Detector.
func (d *faceDetector) Detect(ctx context.Context, img image.Image, opts cascade.Options) ([]cascade.Face, error) {
	b := img.Bounds()
	if err := detopts.CheckImage(b.Dx(), b.Dy(), opts, detopts.Flags); err != nil {
		return nil, err
	}
	faces, rots, _, err := orient.Detect(ctx, d.det, img, opts, d.ff.rot.angles)
	if err != nil {
		return nil, err
	}
	if !d.ff.filter.IsZero() {
		idx := d.ff.filter.Select(faces)
		kept, krots := make([]cascade.Face, len(idx)), make([]float64, len(idx))
		for i, k := range idx {
			kept[i], krots[i] = faces[k], rots[k]
		}
		faces, rots = kept, krots
	}
	d.rots.Store(img, rots)
	return faces, nil
}

// records returns the records (rotation, pose, quality) of faces, which
// Detect found in img, and forgets img. A nil d gives rotations 0.
func (d *faceDetector) records(img image.Image, faces []cascade.Face) []quality.Record {
	var rots []float64
	if d != nil {
		if v, ok := d.rots.LoadAndDelete(img); ok {
			rots = v.([]float64)
		}
	}
	if len(rots) != len(faces) {
		rots = make([]float64, len(faces))
	}
	return quality.Describe(img, faces, rots)
}

// writeCrops writes the crops of faces to the crops folder as
// <rel without its extension>_<index>.png, rel being the image's path
// relative to the argument it was found under (its base name for an
// image given as a file), creating folders as needed. It never
// overwrites a file.
func (ff *faceFlags) writeCrops(img image.Image, rel string, faces []cascade.Face) error {
	if !ff.withCrops {
		return nil
	}
	stem := strings.TrimSuffix(rel, path.Ext(rel))
	names := make([]string, len(faces))
	for i := range faces {
		names[i] = batch.OutputPath(ff.cropsDir, stem, fmt.Sprintf("_%d.png", i))
		// Refuse before writing any, so that a clash leaves no partial
		// set; writeNew still refuses a file created meanwhile.
		if _, err := os.Lstat(names[i]); err == nil {
			return fmt.Errorf("%s: %w", names[i], errExists)
		}
	}
	if len(names) > 0 {
		if err := os.MkdirAll(filepath.Dir(names[0]), 0o755); err != nil {
			return err
		}
	}
	for i, f := range faces {
		// One crop at a time: a crowd at a large size needs one crop's
		// memory, not all of them.
		c, err := align.Crop(img, f, ff.cropOpts)
		if err != nil {
			return err
		}
		if err := writeNew(names[i], func(w io.Writer) error { return png.Encode(w, c) }); err != nil {
			return err
		}
	}
	return nil
}

// MarshalJSON writes the result with each face's record (rotation, pose,
// quality) when it has them; the face fields keep their values, and every
// other field of the result is written as it would be without this method.
func (r detectResult) MarshalJSON() ([]byte, error) {
	type plain detectResult // without this method
	if r.records == nil {
		return json.Marshal(plain(r))
	}
	p := plain(r)
	p.Faces = nil
	out, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	recs, err := json.Marshal(r.records)
	if err != nil {
		return nil, err
	}
	// Inside a JSON string the quotes would be escaped, so this key is
	// the field's.
	return bytes.Replace(out, []byte(`"faces":null`), append([]byte(`"faces":`), recs...), 1), nil
}
