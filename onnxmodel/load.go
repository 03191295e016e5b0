package onnxmodel

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	onnx "github.com/owulveryck/onnx-go"

	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/weights"
)

// Options describe the conventions of ONNX models made elsewhere. The zero
// value is this package's own convention (BGR input, y-first outputs), so
// files written by Encode need none.
type Options struct {
	// RGB says the models take RGB input (facenet-pytorch and most PyTorch
	// ports do). The first convolution's input channels are swapped so the
	// nets take BGR.
	RGB bool
	// XYFirst says the box regression is x1, y1, x2, y2 and the landmarks
	// x1..x5, y1..y5 (facenet-pytorch's order). The heads' outputs are
	// reordered to y1, x1, y2, x2 and y1..y5, x1..x5.
	XYFirst bool
}

// Net is one MTCNN network read from an ONNX model.
type Net struct {
	Kind nets.Kind
	// Tensors are the net's weights in the layout weights.NewModel takes
	// (HWIO kernels, flat biases and PReLU slopes).
	Tensors []*weights.Tensor
	// Notes describe differences from the reference that the import
	// resolved, such as a ceil-mode P-Net pool.
	Notes []string
	// Source is the file the net was read from, if any.
	Source string
}

// DecodeNet reads one ONNX model and recognises which MTCNN network it is.
// Errors wrap ErrFormat for data that is not a well-formed model,
// ErrUnsupported for constructs that cannot be mapped exactly, and
// ErrTopology for graphs that are not P-Net, R-Net or O-Net.
func DecodeNet(data []byte, o Options) (*Net, error) {
	si, err := scan(data)
	if err != nil {
		return nil, fmt.Errorf("onnxmodel: %w", err)
	}
	rec := newRecorder()
	m := onnx.NewModel(rec)
	if err := unmarshal(m, data); err != nil {
		return nil, fmt.Errorf("onnxmodel: %w", err)
	}
	res, err := interpret(rec, si, m.Input, m.Output)
	if err != nil {
		return nil, fmt.Errorf("onnxmodel: %w", err)
	}
	mt, err := identify(res)
	if err != nil {
		return nil, fmt.Errorf("onnxmodel: %w", err)
	}
	return &Net{Kind: mt.a.kind, Tensors: mt.tensors(o), Notes: append(res.notes, mt.notes...)}, nil
}

// unmarshal runs onnx-go's decoder, turning its errors and panics on
// malformed input into errors wrapping ErrFormat or ErrUnsupported.
func unmarshal(m *onnx.Model, data []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: onnx-go decoder: %v", ErrFormat, r)
		}
	}()
	err = m.UnmarshalBinary(data)
	var ni *onnx.ErrNotImplemented
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrFormat) || errors.Is(err, ErrUnsupported):
		return err
	case errors.As(err, &ni):
		return fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	return fmt.Errorf("%w: %w", ErrFormat, err)
}

// Model is an MTCNN model read from ONNX files.
type Model struct {
	// Weights are the three nets' weights, for nets.New and cascade.New.
	Weights *weights.Model
	// Nets are the nets read, indexed by nets.Kind.
	Nets [3]*Net
}

// Notes returns the notes of all three nets, each prefixed by its source.
func (m *Model) Notes() []string {
	var out []string
	for _, n := range m.Nets {
		if n == nil {
			continue
		}
		for _, note := range n.Notes {
			src := n.Source
			if src == "" {
				src = n.Kind.String()
			}
			out = append(out, src+": "+note)
		}
	}
	return out
}

// Assemble combines one P-Net, one R-Net and one O-Net, given in any order,
// into a model. Errors wrap ErrMissingNet when a net is missing or given
// twice.
func Assemble(ns ...*Net) (*Model, error) {
	var m Model
	for _, n := range ns {
		if n == nil {
			continue
		}
		if prev := m.Nets[n.Kind]; prev != nil {
			return nil, fmt.Errorf("onnxmodel: %w: %s and %s are both %v", ErrMissingNet, sourceOf(prev), sourceOf(n), n.Kind)
		}
		m.Nets[n.Kind] = n
	}
	var tensors []*weights.Tensor
	var missing []string
	for k, n := range m.Nets {
		if n == nil {
			missing = append(missing, nets.Kind(k).String())
			continue
		}
		tensors = append(tensors, n.Tensors...)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("onnxmodel: %w: no %s among the models given", ErrMissingNet, strings.Join(missing, " or "))
	}
	w, err := weights.NewModel(tensors)
	if err != nil {
		return nil, fmt.Errorf("onnxmodel: %w", err)
	}
	m.Weights = w
	return &m, nil
}

func sourceOf(n *Net) string {
	if n.Source != "" {
		return n.Source
	}
	return "two models"
}

// Load reads an MTCNN model from ONNX files: either one directory holding
// pnet.onnx, rnet.onnx and onet.onnx, or three files in any order (which
// file is which net is recognised from its graph).
func Load(o Options, paths ...string) (*Model, error) {
	if len(paths) == 1 {
		st, err := os.Stat(paths[0])
		if err != nil {
			return nil, fmt.Errorf("onnxmodel: %w", err)
		}
		if st.IsDir() {
			dir := paths[0]
			paths = nil
			for _, k := range allKinds {
				paths = append(paths, filepath.Join(dir, FileName(k)))
			}
		}
	}
	if len(paths) != 3 {
		return nil, fmt.Errorf("onnxmodel: %w: got %d file(s) %q; want a directory holding %s, %s and %s, or three files",
			ErrMissingNet, len(paths), paths, FileName(nets.PNet), FileName(nets.RNet), FileName(nets.ONet))
	}
	var ns []*Net
	for _, p := range paths {
		data, err := readLimited(p)
		if err != nil {
			return nil, fmt.Errorf("onnxmodel: %w", err)
		}
		n, err := DecodeNet(data, o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		n.Source = p
		ns = append(ns, n)
	}
	return Assemble(ns...)
}

// readLimited reads a file of at most MaxModelBytes.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxModelBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxModelBytes {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrFormat, path, MaxModelBytes)
	}
	return data, nil
}
