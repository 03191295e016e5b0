package onnxmodel

import (
	"fmt"
	"slices"

	onnx "github.com/owulveryck/onnx-go"
	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/iterator"
	"gorgonia.org/tensor"
)

// recorder is the onnx.Backend that onnx-go's decoder fills: it keeps every
// value (graph input, initializer, node output) as a node, with the tensor
// of initializers and constants, and every operation with its inputs in
// order. It computes nothing; interpret reads it afterwards.
type recorder struct {
	nodes   []*gnode
	edges   []*gedge
	pending map[int64][]*gedge // input edges of node outputs not yet applied
	ops     []op
}

// gnode is one value of the ONNX graph.
type gnode struct {
	id   int64
	name string
	t    tensor.Tensor
}

// op is one ONNX node: its type, attributes, inputs and outputs in order.
type op struct {
	typ   string
	attrs map[string]any
	in    []*gnode
	out   []*gnode
}

type gedge struct {
	from, to *gnode
	w        float64
}

var (
	_ onnx.Backend     = (*recorder)(nil)
	_ onnx.Namer       = (*gnode)(nil)
	_ onnx.DataCarrier = (*gnode)(nil)
)

func newRecorder() *recorder { return &recorder{pending: map[int64][]*gedge{}} }

func (n *gnode) ID() int64                       { return n.id }
func (n *gnode) SetName(s string)                { n.name = s }
func (n *gnode) GetName() string                 { return n.name }
func (n *gnode) SetTensor(t tensor.Tensor) error { n.t = t; return nil }
func (n *gnode) GetTensor() tensor.Tensor        { return n.t }

func (e *gedge) From() graph.Node         { return e.from }
func (e *gedge) To() graph.Node           { return e.to }
func (e *gedge) ReversedEdge() graph.Edge { return &gedge{from: e.to, to: e.from, w: e.w} }
func (e *gedge) Weight() float64          { return e.w }

// NewNode returns a new value node; its ID is its index.
func (r *recorder) NewNode() graph.Node { return &gnode{id: int64(len(r.nodes))} }

// AddNode adds a node made by NewNode.
func (r *recorder) AddNode(n graph.Node) {
	g, ok := n.(*gnode)
	if !ok || g.id != int64(len(r.nodes)) {
		panic(fmt.Sprintf("onnxmodel: foreign node %v", n))
	}
	r.nodes = append(r.nodes, g)
}

// NewWeightedEdge returns an edge from an operation's output to one of its
// inputs; the weight is the input's position.
func (r *recorder) NewWeightedEdge(from, to graph.Node, w float64) graph.WeightedEdge {
	f, _ := from.(*gnode)
	t, _ := to.(*gnode)
	return &gedge{from: f, to: t, w: w}
}

// SetWeightedEdge records an edge until ApplyOperation claims it.
func (r *recorder) SetWeightedEdge(e graph.WeightedEdge) {
	g, ok := e.(*gedge)
	if !ok || g.from == nil || g.to == nil {
		panic("onnxmodel: foreign edge")
	}
	r.edges = append(r.edges, g)
	r.pending[g.from.id] = append(r.pending[g.from.id], g)
}

// ApplyOperation records an operation on the outputs it writes; its inputs
// are the pending edges of its first output, in position order.
func (r *recorder) ApplyOperation(o onnx.Operation, outs ...graph.Node) error {
	if len(outs) == 0 {
		return fmt.Errorf("%w: %s node without outputs", ErrFormat, o.Name)
	}
	var rec op
	rec.typ, rec.attrs = o.Name, o.Attributes
	for i, out := range outs {
		g, ok := out.(*gnode)
		if !ok {
			return fmt.Errorf("%w: foreign node", ErrFormat)
		}
		rec.out = append(rec.out, g)
		edges := r.pending[g.id]
		delete(r.pending, g.id)
		slices.SortStableFunc(edges, func(a, b *gedge) int {
			switch {
			case a.w < b.w:
				return -1
			case a.w > b.w:
				return 1
			}
			return 0
		})
		var in []*gnode
		for j, e := range edges {
			if e.w != float64(j) {
				return fmt.Errorf("%w: %s node writing %q: inputs out of order (is %q written twice?)", ErrFormat, o.Name, g.name, g.name)
			}
			in = append(in, e.to)
		}
		if i == 0 {
			rec.in = in
		} else if !slices.Equal(in, rec.in) {
			return fmt.Errorf("%w: %s node writing %q: value written by two nodes", ErrFormat, o.Name, g.name)
		}
	}
	r.ops = append(r.ops, rec)
	return nil
}

// Node returns the node with the given ID, or nil.
func (r *recorder) Node(id int64) graph.Node {
	if id < 0 || id >= int64(len(r.nodes)) {
		return nil
	}
	return r.nodes[id]
}

// Nodes returns all nodes.
func (r *recorder) Nodes() graph.Nodes {
	ns := make([]graph.Node, len(r.nodes))
	for i, n := range r.nodes {
		ns[i] = n
	}
	return iterator.NewOrderedNodes(ns)
}

// From returns the inputs of the operation writing node id.
func (r *recorder) From(id int64) graph.Nodes {
	var ns []graph.Node
	for _, e := range r.edges {
		if e.from.id == id {
			ns = append(ns, e.to)
		}
	}
	return iterator.NewOrderedNodes(ns)
}

// To returns the outputs of the operations reading node id.
func (r *recorder) To(id int64) graph.Nodes {
	var ns []graph.Node
	for _, e := range r.edges {
		if e.to.id == id {
			ns = append(ns, e.from)
		}
	}
	return iterator.NewOrderedNodes(ns)
}

// Edge returns an edge from u to v, or nil.
func (r *recorder) Edge(u, v int64) graph.Edge {
	for _, e := range r.edges {
		if e.from.id == u && e.to.id == v {
			return e
		}
	}
	return nil
}

// HasEdgeBetween reports whether an edge joins x and y either way.
func (r *recorder) HasEdgeBetween(x, y int64) bool {
	return r.Edge(x, y) != nil || r.Edge(y, x) != nil
}

// HasEdgeFromTo reports whether an edge goes from u to v.
func (r *recorder) HasEdgeFromTo(u, v int64) bool { return r.Edge(u, v) != nil }
