// Package onnxmodel writes the MTCNN networks as ONNX models and reads
// MTCNN networks from ONNX models into a weights.Model, so that the nets and
// cascade packages run them.
//
// # Files written
//
// Encode and WriteDir produce one model per network (pnet.onnx, rnet.onnx,
// onet.onnx), ONNX IR version 7, default-domain opset 13, float32:
//
//	input      "input" [N, 3, H, W], NCHW, BGR, normalised as (pixel-127.5)/128
//	           (the values nets.Net.Run takes, transposed from NHWC to NCHW).
//	           P-Net: N, H and W dynamic (H, W >= 12); R-Net H = W = 24;
//	           O-Net H = W = 48; N dynamic.
//	prob       softmax over the two classes, channel 1 is the face score:
//	           P-Net [N, 2, H', W'], R-Net and O-Net [N, 2].
//	reg        box regression y1, x1, y2, x2: P-Net [N, 4, H', W'], else [N, 4].
//	landmarks  O-Net only, [N, 10]: y of the five points, then x of the five.
//
// with H' = floor((H-2)/2) - 4 (likewise W'). The layers are Conv, PRelu
// (slopes [C, 1, 1]), MaxPool (R-Net's and O-Net's first pool with explicit
// bottom/right padding equal to TensorFlow's SAME, the others unpadded,
// ceil_mode 0), Softmax(axis=1), and for R-Net and O-Net a Flatten then Gemm
// heads. The fully connected layers of R-Net and O-Net stay convolutions
// over the whole 3x3 map, as in the reference graph.
//
// # Reading ONNX models
//
// DecodeNet parses a model with github.com/owulveryck/onnx-go's decoder:
// onnx.Model.UnmarshalBinary into a Backend of this package that records
// the nodes, initializers and edges. onnx-go's own gorgonia backend is not
// used: it lacks PRelu and dynamic input shapes, and its graph would not
// compute TensorFlow's pooling exactly. Instead the recorded graph is
// interpreted symbolically from its input to its outputs, recognising the
// MTCNN topology (which of P-, R- or O-Net it is, whatever the node and
// tensor names), and its initializers are converted into the tensors of
// weights.NewModel (HWIO kernels, flat biases and PReLU slopes), so the
// same nets.Net graphs as for the embedded model run it, bit-exact where the
// weights are the same. onnx-go's protobuf types (package ir) are internal
// to its module and it has no encoder, so the writer uses
// google.golang.org/protobuf/encoding/protowire with the field numbers of
// onnx.proto; files it writes are checked by onnx-go's decoder and by ONNX
// Runtime in the tests.
//
// Accepted besides this package's own files, as exported by PyTorch ports
// of MTCNN such as facenet-pytorch:
//
//   - NCHW input (NHWC followed by a Transpose also works), float32 or
//     uint8 followed by Cast. RGB input: set Options.RGB and the first
//     convolution's input channels are swapped to BGR.
//   - Input normalisation: the nets take (pixel-127.5)/128. A graph that
//     does this itself (Sub 127.5, or Add -127.5, then Mul 0.0078125 or
//     Div 128) is accepted and the steps are dropped; a graph without them
//     is assumed to take normalised input, as facenet-pytorch's do. Other
//     normalisations are refused (ErrUnsupported).
//   - PRelu with slopes shaped [C], [C, 1, 1], [1, C, 1, 1] or [1].
//   - Fully connected layers as Gemm (transB 0 or 1) or MatMul plus Add,
//     after Flatten or Reshape (a constant shape or PyTorch's
//     Shape/Gather/Unsqueeze/Concat subgraph for view(N, -1)), following any
//     Transpose: the weights are mapped onto the convolution kernel for
//     whatever order the map was flattened in, including facenet-pytorch's
//     permute(0, 3, 2, 1) (flattening width, height, channel).
//   - Box regression and landmarks x-first (x1, y1, x2, y2 and x1..x5,
//     y1..y5, facenet-pytorch's order): set Options.XYFirst and the heads'
//     output channels are reordered to this package's y-first order.
//   - Softmax over the channel axis in either opset convention, also as
//     Transpose, Softmax over the last axis, Transpose (PyTorch before opset
//     13).
//   - MaxPool with any kernel, stride, pads, auto_pad or ceil_mode whose
//     windows equal the reference graph's at the sizes the net sees. Caffe's
//     ceil-mode 3x3/2 pool on R-Net's and O-Net's 22x22 and 46x46 maps is
//     TensorFlow's SAME pool there, and the other R-Net and O-Net pools
//     divide exactly, so they are exact. P-Net's 2x2/2 ceil-mode pool agrees
//     with the reference's floor-mode pool on every cell both compute but
//     adds one edge cell for odd-sized maps; it is accepted with a note
//     (Net.Notes) saying that cell is dropped, as the reference detector
//     does. Any other difference is refused (ErrUnsupported).
//
// Models are assumed to take the image in its stored orientation (not
// transposed, unlike the original Caffe models run from MATLAB); nothing in
// a graph tells which, so a transposed model would import without error
// but detect badly.
package onnxmodel
