package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/onnxmodel"
	"github.com/mtcnn-go/mtcnn/weights"
)

const exportUsage = `Usage: mtcnn export-onnx -o DIR [-model PATH [-rgb] [-xy]]

Writes DIR/pnet.onnx, DIR/rnet.onnx and DIR/onet.onnx: the three networks
of the embedded model, or of -model (any model "mtcnn detect -model" reads,
so ONNX models in another convention can be converted to this one), as ONNX
models (IR version 7, opset 13) that ONNX Runtime runs:

  input      "input" [N, 3, H, W] float32, NCHW, BGR, (pixel-127.5)/128;
             P-Net: N, H, W dynamic; R-Net 24x24, O-Net 48x48, N dynamic
  prob       softmax, channel 1 is the face score: P-Net [N, 2, H', W'],
             R-Net and O-Net [N, 2]
  reg        box regression y1, x1, y2, x2: [N, 4, H', W'] or [N, 4]
  landmarks  O-Net [N, 10]: y of the five points, then x of the five

Flags:
`

// onnxFlags are the flags that describe the convention of ONNX models
// given with -model.
type onnxFlags struct {
	rgb, xy *bool
}

func addONNXFlags(fs *flag.FlagSet) onnxFlags {
	return onnxFlags{
		rgb: fs.Bool("rgb", false, "ONNX -model takes RGB input, as PyTorch ports such as facenet-pytorch do (default BGR)"),
		xy:  fs.Bool("xy", false, "ONNX -model's box regression and landmarks are x-first, as in facenet-pytorch (default y-first)"),
	}
}

func (f onnxFlags) options() onnxmodel.Options {
	return onnxmodel.Options{RGB: *f.rgb, XYFirst: *f.xy}
}

func runExportONNX(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("export-onnx", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, exportUsage); fs.PrintDefaults() }
	out := fs.String("o", "", "output directory (required)")
	modelPath := fs.String("model", "", "model to export instead of the embedded one (see mtcnn detect -h)")
	of := addONNXFlags(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(pos) != 0 || *out == "" {
		fs.Usage()
		return 2
	}
	m, err := loadModelOpts(*modelPath, of.options(), stderr)
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn export-onnx: %v\n", err)
		return 1
	}
	if err := onnxmodel.WriteDir(m, *out); err != nil {
		fmt.Fprintf(stderr, "mtcnn export-onnx: %v\n", err)
		return 1
	}
	for _, k := range []nets.Kind{nets.PNet, nets.RNet, nets.ONet} {
		p := filepath.Join(*out, onnxmodel.FileName(k))
		st, err := os.Stat(p)
		if err != nil {
			fmt.Fprintf(stderr, "mtcnn export-onnx: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "wrote %s: %v, %d bytes\n", p, k, st.Size())
	}
	return 0
}

// isONNXPath reports whether a -model value names ONNX models: a directory,
// a comma-separated list, or a file ending in .onnx.
func isONNXPath(path string) bool {
	if strings.Contains(path, ",") || strings.HasSuffix(strings.ToLower(path), ".onnx") {
		return true
	}
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// loadONNX reads the three nets from a directory or a comma-separated list
// of .onnx files and writes the import's notes to notes.
func loadONNX(path string, o onnxmodel.Options, notes io.Writer) (*weights.Model, error) {
	var paths []string
	for _, p := range strings.Split(path, ",") {
		if p = strings.TrimSpace(p); p != "" {
			paths = append(paths, p)
		}
	}
	m, err := onnxmodel.Load(o, paths...)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	for _, n := range m.Notes() {
		fmt.Fprintf(notes, "mtcnn: note: %s\n", n)
	}
	return m.Weights, nil
}

// errONNXFlags is returned when -rgb or -xy come with a model that is not
// ONNX.
var errONNXFlags = errors.New("-rgb and -xy apply to ONNX models only")

// loadModelOpts is loadModel with the options for ONNX models; the import's
// notes go to notes.
func loadModelOpts(path string, o onnxmodel.Options, notes io.Writer) (*weights.Model, error) {
	if path != "" && isONNXPath(path) {
		return loadONNX(path, o, notes)
	}
	if o != (onnxmodel.Options{}) {
		return nil, errONNXFlags
	}
	return loadModel(path)
}
