package nets

// Layer describes one trunk layer of a net: a VALID convolution with bias
// and PReLU, followed, when PoolK > 0, by a max pool. It is the shape
// description the inference graphs are built from, exported so that other
// graphs of the same nets (the training graphs in package train) share it
// rather than copy it.
type Layer struct {
	Conv, PReLU  string // weight name prefixes: Conv+"/weights", Conv+"/biases", PReLU+"/weights"
	KH, KW       int    // kernel size
	Cin, Cout    int    // channels in and out
	PoolK, PoolS int    // pool kernel side and stride; PoolK 0: no pool
	PoolSame     bool   // TensorFlow SAME pooling (the odd padding row and column at the bottom and right), else VALID
}

// Head describes one 1x1 output convolution of a net.
type Head struct {
	Conv string // weight name prefix
	Cout int    // output channels: 2 face scores, 4 box offsets, 10 landmark offsets
}

// Architecture is the layer structure of one net: the trunk in order, then
// the heads, which all read the trunk's last output (HeadIn channels). The
// first head is the face/non-face pair a softmax turns into a probability.
type Architecture struct {
	Trunk  []Layer
	Heads  []Head
	HeadIn int
}

// ArchitectureOf returns the layer structure of the net of kind k.
func ArchitectureOf(k Kind) Architecture {
	a := archOf(k)
	out := Architecture{HeadIn: a.cin}
	for _, s := range a.trunk {
		out.Trunk = append(out.Trunk, Layer{
			Conv: s.conv, PReLU: s.prelu, KH: s.kh, KW: s.kw, Cin: s.cin, Cout: s.cout,
			PoolK: s.pool.k, PoolS: s.pool.s, PoolSame: s.pool.same,
		})
	}
	for _, h := range a.heads {
		out.Heads = append(out.Heads, Head{Conv: h.conv, Cout: h.cout})
	}
	return out
}
