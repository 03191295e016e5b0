package onnxmodel

import (
	"errors"

	"github.com/mtcnn-go/mtcnn/weights"
)

// ErrFormat is wrapped by errors about data that is not a well-formed ONNX
// model (bad protobuf, sizes beyond the limits, tensors whose data does not
// fit their shape). errors.Is(err, weights.ErrFormat) also holds for them.
var ErrFormat error = formatError{}

// formatError is ErrFormat's type: it matches weights.ErrFormat too.
type formatError struct{}

func (formatError) Error() string        { return "malformed ONNX model" }
func (formatError) Is(target error) bool { return target == weights.ErrFormat }

// ErrUnsupported is wrapped by errors about a well-formed model that uses an
// operator, attribute or layout this package cannot map exactly onto the
// MTCNN nets: an unknown op, a strided or padded convolution, a pooling
// whose windows differ from the reference's, an unknown input
// normalisation.
var ErrUnsupported = errors.New("unsupported ONNX construct")

// ErrTopology is wrapped by errors about a graph that is not one of P-Net,
// R-Net and O-Net: wrong layer sequence, channel counts or kernel sizes, a
// missing or extra output. The message lists what was expected and what
// was found.
var ErrTopology = errors.New("ONNX graph is not an MTCNN network")

// ErrMissingNet is wrapped by errors about a set of models that does not
// hold exactly one P-Net, one R-Net and one O-Net.
var ErrMissingNet = errors.New("need one P-Net, one R-Net and one O-Net")
