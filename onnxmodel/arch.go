package onnxmodel

import (
	"fmt"
	"strings"

	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/weights"
)

// archStep is one trunk layer of a net as the reference graph has it: a
// VALID stride-1 convolution followed by PReLU, or a max pool.
type archStep struct {
	conv, prelu string // weight name prefixes; empty conv means a pool
	k, s        int    // pool window and stride
	same        bool   // TensorFlow SAME pool (else VALID)
}

// archHead is one output: a 1x1 convolution (a fully connected layer),
// the first of each net followed by a softmax.
type archHead struct {
	conv    string
	cout    int
	output  string // output name in exported files
	softmax bool
}

// arch describes one of the three nets. The kernel shapes come from
// weights.Shape, so the table only holds the order of layers and pools.
type arch struct {
	kind  nets.Kind
	steps []archStep
	heads []archHead
}

func convS(net, conv, prelu string) archStep {
	return archStep{conv: net + "/" + conv, prelu: net + "/" + prelu}
}

func poolS(k, s int, same bool) archStep { return archStep{k: k, s: s, same: same} }

// archOf returns the layers of net k, matching nets' own table.
func archOf(k nets.Kind) arch {
	switch k {
	case nets.PNet:
		return arch{kind: k,
			steps: []archStep{
				convS("pnet", "conv1", "PReLU1"), poolS(2, 2, false),
				convS("pnet", "conv2", "PReLU2"), convS("pnet", "conv3", "PReLU3"),
			},
			heads: []archHead{{"pnet/conv4-1", 2, "prob", true}, {"pnet/conv4-2", 4, "reg", false}},
		}
	case nets.RNet:
		return arch{kind: k,
			steps: []archStep{
				convS("rnet", "conv1", "prelu1"), poolS(3, 2, true),
				convS("rnet", "conv2", "prelu2"), poolS(3, 2, false),
				convS("rnet", "conv3", "prelu3"), convS("rnet", "conv4", "prelu4"),
			},
			heads: []archHead{{"rnet/conv5-1", 2, "prob", true}, {"rnet/conv5-2", 4, "reg", false}},
		}
	default:
		return arch{kind: nets.ONet,
			steps: []archStep{
				convS("onet", "conv1", "prelu1"), poolS(3, 2, true),
				convS("onet", "conv2", "prelu2"), poolS(3, 2, false),
				convS("onet", "conv3", "prelu3"), poolS(2, 2, false),
				convS("onet", "conv4", "prelu4"), convS("onet", "conv5", "prelu5"),
			},
			heads: []archHead{
				{"onet/conv6-1", 2, "prob", true}, {"onet/conv6-2", 4, "reg", false},
				{"onet/conv6-3", 10, "landmarks", false},
			},
		}
	}
}

var allKinds = [...]nets.Kind{nets.PNet, nets.RNet, nets.ONet}

// kernel returns the HWIO shape of a convolution of the layout.
func kernel(conv string) (kh, kw, cin, cout int) {
	s := weights.Shape(conv + "/weights")
	return s[0], s[1], s[2], s[3]
}

// spatial returns the map side entering each trunk step and the side
// leaving the trunk, for an input of side n.
func (a arch) spatial(n int) (in []int, out int) {
	for _, s := range a.steps {
		in = append(in, n)
		if s.conv != "" {
			kh, _, _, _ := kernel(s.conv)
			n = n - kh + 1
		} else {
			n, _ = tfPoolOut(n, s.k, s.s, s.same)
		}
	}
	return in, n
}

// tfPoolOut returns TensorFlow's pooled size and the padding before the
// first window.
func tfPoolOut(n, k, s int, same bool) (out, padBefore int) {
	if !same {
		if n < k {
			return 0, 0
		}
		return (n-k)/s + 1, 0
	}
	out = (n + s - 1) / s
	total := max((out-1)*s+k-n, 0)
	return out, total / 2
}

// summary describes the net in the notation of the import errors.
func (a arch) summary() string {
	var parts []string
	for _, s := range a.steps {
		if s.conv == "" {
			mode := "VALID"
			if s.same {
				mode = "SAME"
			}
			parts = append(parts, fmt.Sprintf("MaxPool %dx%d/%d %s", s.k, s.k, s.s, mode))
			continue
		}
		kh, kw, cin, cout := kernel(s.conv)
		parts = append(parts, fmt.Sprintf("Conv %dx%d %d->%d", kh, kw, cin, cout), "PRelu")
	}
	_, _, cin, _ := kernel(a.heads[0].conv)
	var heads []string
	for _, h := range a.heads {
		d := fmt.Sprintf("%d->%d", cin, h.cout)
		if h.softmax {
			d += " Softmax"
		}
		heads = append(heads, d)
	}
	return strings.Join(parts, ", ") + "; heads " + strings.Join(heads, ", ")
}
