package onnxmodel

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/weights"
)

// foundStep is one trunk step of an interpreted graph: a linear layer with
// its PReLU, or a pool.
type foundStep struct {
	lin, prelu, pool *layer
}

func (s foundStep) String() string {
	if s.pool != nil {
		return s.pool.describe()
	}
	if s.prelu == nil {
		return s.lin.describe() + " (no PRelu)"
	}
	return s.lin.describe() + ", PRelu"
}

// foundHead is one output: a linear layer, maybe followed by a softmax.
type foundHead struct {
	lin     *layer
	softmax bool
	output  string
}

func (h foundHead) String() string {
	s := fmt.Sprintf("%d->%d", h.lin.cin, h.lin.cout)
	if h.softmax {
		s += " Softmax"
	}
	return s
}

// found is the structure of an interpreted graph.
type found struct {
	steps []foundStep
	heads []foundHead
	bad   string // why the structure is not trunk + heads, if it is not
}

func (f *found) summary() string {
	if f.bad != "" {
		return f.bad
	}
	parts := make([]string, len(f.steps))
	for i, s := range f.steps {
		parts[i] = s.String()
	}
	heads := make([]string, len(f.heads))
	for i, h := range f.heads {
		heads[i] = h.String()
	}
	return strings.Join(parts, ", ") + "; heads " + strings.Join(heads, ", ")
}

func chainOf(l *layer) []*layer {
	var out []*layer
	for ; l != nil; l = l.parent {
		out = append(out, l)
	}
	slices.Reverse(out)
	return out
}

// structure splits the outputs' layer chains into a shared trunk and heads.
func structure(res *interpreted) *found {
	f := &found{}
	if len(res.outputs) < 2 {
		f.bad = fmt.Sprintf("%d output %q; want 2 (face score, box regression) or 3 (and landmarks)", len(res.outputs), res.names)
		return f
	}
	chains := make([][]*layer, len(res.outputs))
	for i, v := range res.outputs {
		chains[i] = chainOf(v.last)
	}
	n := 0
	for ; ; n++ {
		same := n < len(chains[0])
		for _, c := range chains[1:] {
			same = same && n < len(c) && c[n] == chains[0][n]
		}
		if !same {
			break
		}
	}
	trunk := chains[0][:n]
	for i := 0; i < len(trunk); i++ {
		l := trunk[i]
		switch {
		case l.typ == lPool:
			f.steps = append(f.steps, foundStep{pool: l})
		case l.linear() && i+1 < len(trunk) && trunk[i+1].typ == lPRelu:
			f.steps = append(f.steps, foundStep{lin: l, prelu: trunk[i+1]})
			i++
		case l.linear():
			f.steps = append(f.steps, foundStep{lin: l})
		default:
			f.bad = fmt.Sprintf("%s where a Conv, Gemm or MaxPool belongs (layer %d of the trunk)", l.describe(), len(f.steps)+1)
			return f
		}
	}
	for i, c := range chains {
		h := c[n:]
		switch {
		case len(h) == 1 && h[0].linear():
			f.heads = append(f.heads, foundHead{lin: h[0], output: res.names[i]})
		case len(h) == 2 && h[0].linear() && h[1].typ == lSoftmax:
			f.heads = append(f.heads, foundHead{lin: h[0], softmax: true, output: res.names[i]})
		default:
			descs := make([]string, len(h))
			for j, l := range h {
				descs[j] = l.describe()
			}
			f.bad = fmt.Sprintf("output %q is computed by [%s] after the shared layers; want one Conv or Gemm, "+
				"with a Softmax for the face score", res.names[i], strings.Join(descs, ", "))
			return f
		}
	}
	return f
}

// match is a graph matched to a net.
type match struct {
	a     arch
	f     *found
	heads []foundHead // in the arch's head order
	sizes []int       // map side entering each step (R-Net, O-Net)
	notes []string
}

// matchArch compares the structure with net k. It returns the number of
// leading steps that agree and a description of the first difference, or
// an error wrapping ErrUnsupported when the layers agree but a pool's
// windows differ.
func matchArch(f *found, k nets.Kind) (*match, int, string, error) {
	a := archOf(k)
	m := &match{a: a, f: f}
	if f.bad != "" {
		return nil, 0, f.bad, nil
	}
	in := k.InputSize()
	sizes, end := a.spatial(in)
	m.sizes = sizes
	for i, s := range a.steps {
		if i >= len(f.steps) {
			return nil, i, fmt.Sprintf("the graph ends after %d layers; want %d", len(f.steps), len(a.steps)), nil
		}
		g := f.steps[i]
		want := stepString(s)
		if s.conv == "" {
			if g.pool == nil {
				return nil, i, fmt.Sprintf("layer %d: want %s, found %s", i+1, want, g), nil
			}
			continue
		}
		if g.lin == nil || g.prelu == nil {
			return nil, i, fmt.Sprintf("layer %d: want %s, found %s", i+1, want, g), nil
		}
		kh, kw, cin, cout := kernel(s.conv)
		l := g.lin
		ok := l.cout == cout
		switch {
		case l.typ == lConv:
			ok = ok && l.kh == kh && l.kw == kw && l.cin == cin
		case l.fromMap:
			// A fully connected layer over the whole map is the
			// convolution whose kernel covers it.
			ok = ok && k != nets.PNet && sizes[i] == kh && sizes[i] == kw && l.mapC == cin &&
				l.cin == cin*kh*kw && (l.flatK == 0 || l.flatK == l.cin)
		default:
			ok = ok && kh == 1 && kw == 1 && l.cin == cin
		}
		if !ok {
			return nil, i, fmt.Sprintf("layer %d: want %s, found %s", i+1, want, g), nil
		}
	}
	if len(f.steps) > len(a.steps) {
		return nil, len(a.steps), fmt.Sprintf("layer %d: the graph has %s where the heads belong", len(a.steps)+1, f.steps[len(a.steps)]), nil
	}
	_, _, hcin, _ := kernel(a.heads[0].conv)
	var wantHeads, gotHeads []string
	for _, h := range a.heads {
		d := fmt.Sprintf("%d->%d", hcin, h.cout)
		if h.softmax {
			d += " Softmax"
		}
		wantHeads = append(wantHeads, d)
	}
	used := make([]bool, len(f.heads))
	for _, h := range f.heads {
		gotHeads = append(gotHeads, h.String())
	}
	headDiff := fmt.Sprintf("heads: want %s, found %s", strings.Join(wantHeads, ", "), strings.Join(gotHeads, ", "))
	if len(f.heads) != len(a.heads) {
		return nil, len(a.steps), headDiff, nil
	}
	for _, h := range a.heads {
		j := slices.IndexFunc(f.heads, func(g foundHead) bool {
			return g.lin.cout == h.cout && g.softmax == h.softmax
		})
		for j >= 0 && used[j] {
			next := slices.IndexFunc(f.heads[j+1:], func(g foundHead) bool {
				return g.lin.cout == h.cout && g.softmax == h.softmax
			})
			if next < 0 {
				j = -1
			} else {
				j += 1 + next
			}
		}
		if j < 0 {
			return nil, len(a.steps), headDiff, nil
		}
		used[j] = true
		l := f.heads[j].lin
		ok := l.cin == hcin
		switch {
		case l.typ == lConv:
			ok = ok && l.kh == 1 && l.kw == 1
		case l.fromMap:
			ok = ok && k != nets.PNet && end == 1 && l.mapC == hcin
		}
		if !ok {
			return nil, len(a.steps), headDiff, nil
		}
		m.heads = append(m.heads, f.heads[j])
	}
	// The layers agree; the pools must compute the same windows.
	for i, s := range a.steps {
		if s.conv != "" {
			continue
		}
		note, err := checkPool(f.steps[i].pool, s, k, sizes[i])
		if err != nil {
			return nil, len(a.steps), "", err
		}
		if note != "" {
			m.notes = append(m.notes, note)
		}
	}
	return m, len(a.steps), "", nil
}

func stepString(s archStep) string {
	if s.conv == "" {
		mode := "VALID"
		if s.same {
			mode = "SAME"
		}
		return fmt.Sprintf("MaxPool %dx%d/%d %s", s.k, s.k, s.s, mode)
	}
	kh, kw, cin, cout := kernel(s.conv)
	return fmt.Sprintf("Conv %dx%d %d->%d, PRelu", kh, kw, cin, cout)
}

// identify finds which net the graph is.
func identify(res *interpreted) (*match, error) {
	f := structure(res)
	if f.bad != "" {
		return nil, fmt.Errorf("%w: found %s. Want P-Net (%s), R-Net (%s) or O-Net (%s)", ErrTopology, f.bad,
			archOf(nets.PNet).summary(), archOf(nets.RNet).summary(), archOf(nets.ONet).summary())
	}
	best, bestN, bestDiff := nets.PNet, -1, ""
	for _, k := range allKinds {
		m, n, diff, err := matchArch(f, k)
		if err != nil {
			return nil, err
		}
		if m != nil {
			return m, nil
		}
		// Prefer the net whose first convolution has the same outputs.
		if len(f.steps) > 0 && f.steps[0].lin != nil {
			_, _, _, c1 := kernel(archOf(k).steps[0].conv)
			if f.steps[0].lin.cout == c1 {
				n += 100
			}
		}
		if n > bestN {
			best, bestN, bestDiff = k, n, diff
		}
	}
	return nil, fmt.Errorf("%w: found %s. Closest is %v (%s), but %s", ErrTopology, f.summary(), best, archOf(best).summary(), bestDiff)
}

// windows returns the input range each output cell pools, for a map side
// n. ok is false when a window holds no input.
func onnxWindows(n int, p poolAttrs, axis int) ([][2]int, bool) {
	k, s := p.k[axis], p.s[axis]
	var out, padB int
	switch p.autoPad {
	case "VALID":
		if n >= k {
			out = (n-k)/s + 1
		}
	case "SAME_UPPER", "SAME_LOWER":
		out = (n + s - 1) / s
		total := max((out-1)*s+k-n, 0)
		padB = total / 2
		if p.autoPad == "SAME_LOWER" {
			padB = total - total/2
		}
	default:
		padB = p.padB[axis]
		span := n + padB + p.padE[axis] - k
		if span >= 0 {
			if p.ceil {
				out = (span+s-1)/s + 1
				if (out-1)*s >= n+padB {
					out--
				}
			} else {
				out = span/s + 1
			}
		}
	}
	return windowList(n, k, s, out, padB)
}

func windowList(n, k, s, out, padB int) ([][2]int, bool) {
	w := make([][2]int, out)
	for j := range w {
		start := j*s - padB
		lo, hi := max(start, 0), min(start+k-1, n-1)
		if lo > hi {
			return nil, false
		}
		w[j] = [2]int{lo, hi}
	}
	return w, true
}

func tfWindows(n, k, s int, same bool) [][2]int {
	out, padB := tfPoolOut(n, k, s, same)
	w, _ := windowList(n, k, s, out, padB)
	return w
}

// checkPool compares a graph's pool with the reference's at the sizes the
// net sees: the one size of R-Net and O-Net, every size for P-Net.
func checkPool(l *layer, s archStep, k nets.Kind, size int) (string, error) {
	sizes := []int{size}
	if k == nets.PNet {
		sizes = nil
		for n := size; n < size+64; n++ { // conv1's output for inputs from 12 on; the pattern repeats with the stride
			sizes = append(sizes, n)
		}
	}
	extra := false
	for _, n := range sizes {
		want := tfWindows(n, s.k, s.s, s.same)
		for axis := range 2 {
			got, ok := onnxWindows(n, l.pool, axis)
			switch {
			case ok && slices.Equal(got, want):
				continue
			case ok && k == nets.PNet && len(got) == len(want)+1 && slices.Equal(got[:len(want)], want):
				extra = true
				continue
			}
			return "", fmt.Errorf("%w: MaxPool node %q (%s) on a %d-wide map pools %s, the reference's %s pools %s",
				ErrUnsupported, l.node, l.pool.description, n, windowsString(got, ok), stepString(s), windowsString(want, true))
		}
	}
	if extra {
		return fmt.Sprintf("MaxPool %q (%s) adds an edge cell on odd-sized maps; "+
			"the reference's floor-mode pool (used here) agrees on every other cell and drops that one", l.node, l.pool.description), nil
	}
	return "", nil
}

func windowsString(w [][2]int, ok bool) string {
	if !ok {
		return "an empty window"
	}
	var parts []string
	for i, r := range w {
		if len(w) > 6 && i >= 3 && i < len(w)-2 {
			if i == 3 {
				parts = append(parts, "...")
			}
			continue
		}
		parts = append(parts, fmt.Sprintf("%d-%d", r[0], r[1]))
	}
	return fmt.Sprintf("%d windows [%s]", len(w), strings.Join(parts, " "))
}

// tensors converts the matched layers into the weights of the layout.
func (m *match) tensors(o Options) []*weights.Tensor {
	var out []*weights.Tensor
	for i, s := range m.a.steps {
		if s.conv == "" {
			continue
		}
		kh, kw, cin, cout := kernel(s.conv)
		g := m.f.steps[i]
		w := toHWIO(g.lin, kh, kw, cin, cout)
		if i == 0 && o.RGB {
			w = swapInputChannels(w, kh*kw, cin, cout)
		}
		out = append(out,
			&weights.Tensor{Name: s.conv + "/weights", Shape: []int{kh, kw, cin, cout}, Data: w},
			&weights.Tensor{Name: s.conv + "/biases", Shape: []int{cout}, Data: biasOf(g.lin)},
			&weights.Tensor{Name: s.prelu + "/weights", Shape: []int{cout}, Data: append([]float32(nil), g.prelu.slope...)})
	}
	for j, h := range m.a.heads {
		_, _, cin, cout := kernel(h.conv)
		l := m.heads[j].lin
		w := toHWIO(l, 1, 1, cin, cout)
		b := biasOf(l)
		if o.XYFirst {
			w, b = yxOrder(w, b, cin, cout)
		}
		out = append(out,
			&weights.Tensor{Name: h.conv + "/weights", Shape: []int{1, 1, cin, cout}, Data: w},
			&weights.Tensor{Name: h.conv + "/biases", Shape: []int{cout}, Data: b})
	}
	return out
}

func biasOf(l *layer) []float32 {
	if l.b == nil {
		return make([]float32, l.cout)
	}
	return append([]float32(nil), l.b...)
}

// toHWIO returns a linear layer's weights as a [kh, kw, cin, cout] kernel.
// A fully connected layer over a flattened map reads its input in the
// order the map was flattened: with facenet-pytorch's permute(0, 3, 2, 1)
// element (c, y, x) of the map is input (x*kh + y)*cin + c; with a plain
// NCHW Flatten it is (c*kh + y)*kw + x.
func toHWIO(l *layer, kh, kw, cin, cout int) []float32 {
	out := make([]float32, kh*kw*cin*cout)
	at := func(y, x, c, o int) *float32 { return &out[((y*kw+x)*cin+c)*cout+o] }
	switch {
	case l.typ == lConv:
		for o := range cout {
			for c := range cin {
				for y := range kh {
					for x := range kw {
						*at(y, x, c, o) = l.w[((o*cin+c)*kh+y)*kw+x]
					}
				}
			}
		}
	case l.fromMap:
		dims := [4]int{1, cin, kh, kw}
		p := l.mapPerm
		for y := range kh {
			for x := range kw {
				for c := range cin {
					idx := [4]int{0, c, y, x}
					k := (idx[p[1]]*dims[p[2]]+idx[p[2]])*dims[p[3]] + idx[p[3]]
					for o := range cout {
						*at(y, x, c, o) = l.w[o*l.cin+k]
					}
				}
			}
		}
	default:
		for c := range cin {
			for o := range cout {
				*at(0, 0, c, o) = l.w[o*cin+c]
			}
		}
	}
	return out
}

// swapInputChannels reverses the input channels (RGB to BGR) of an HWIO
// kernel with taps spatial positions.
func swapInputChannels(w []float32, taps, cin, cout int) []float32 {
	out := make([]float32, len(w))
	for t := range taps {
		for c := range cin {
			copy(out[(t*cin+c)*cout:(t*cin+c+1)*cout], w[(t*cin+cin-1-c)*cout:(t*cin+cin-c)*cout])
		}
	}
	return out
}

// yxOrder reorders the outputs of an x-first head: a box regression
// x1, y1, x2, y2 becomes y1, x1, y2, x2 and landmarks x1..x5, y1..y5 become
// y1..y5, x1..x5. Other heads are unchanged.
func yxOrder(w, b []float32, cin, cout int) ([]float32, []float32) {
	var src []int
	switch cout {
	case 4:
		src = []int{1, 0, 3, 2}
	case 10:
		src = []int{5, 6, 7, 8, 9, 0, 1, 2, 3, 4}
	default:
		return w, b
	}
	nw, nb := make([]float32, len(w)), make([]float32, len(b))
	for o, s := range src {
		nb[o] = b[s]
		for c := range cin {
			nw[c*cout+o] = w[c*cout+s]
		}
	}
	return nw, nb
}
