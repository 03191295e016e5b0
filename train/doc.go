// Package train fine-tunes the MTCNN networks (P-Net, R-Net, O-Net) on a
// user's labelled photos, in pure Go, with gorgonia's automatic
// differentiation, and writes a weights.Model that the detector, the
// server and the ONNX exporter load like the original.
//
// Each net is rebuilt as a gorgonia training graph (NCHW, the layer
// structure of nets.ArchitectureOf) with the MTCNN article's losses: the
// face score's cross-entropy with online hard example mining (the 70 %
// largest losses of a batch), and the squared L2 errors of the box and
// landmark regressions, weighted 1/0.5/0.5 for P-Net and R-Net and
// 1/0.5/1 for O-Net (the reference model's P-Net and R-Net have no
// landmark output, so only O-Net learns landmarks). Gradients come from gorgonia.Grad, run on a
// TapeMachine; Adam updates the weights with L2 weight decay and
// gradient-norm clipping, and a loss or gradient that is not finite stops
// training with ErrNotFinite.
package train
