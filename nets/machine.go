package nets

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// machine executes a compiled gorgonia graph for inference: its nodes in
// topological order, each operation's Do on its children's values, as
// gorgonia's TapeMachine executes it (TestMachineMatchesTapeMachine checks
// that they agree bit for bit). The TapeMachine also does, per run, what
// forward-only graphs of a few large operations do not need: it starts a
// goroutine with two channels, builds each instruction's argument slice,
// boxes its log arguments and binds every value to its node, a few hundred
// small allocations per run. The machine keeps the slices it needs from
// one run to the next, so a run allocates nothing.
//
// A machine runs one input at a time; it is not safe for concurrent use.
type machine struct {
	vals  []gorgonia.Value // each node's value, by position in the order
	steps []instr
	input int   // the input node's position
	outs  []int // the output nodes' positions
}

// instr runs one operation.
type instr struct {
	op    gorgonia.Op
	args  []int            // positions of the operation's inputs
	argv  []gorgonia.Value // their values, for the call
	shape tensor.Shape     // the node's inferred shape, which the value must have
	out   int              // the node's position
	node  *gorgonia.Node   // for errors
}

// newMachine compiles g for running with input bound to each run's value
// and outs read after it. Every other node without an operation must have
// a value (the weights).
func newMachine(g *gorgonia.ExprGraph, input *gorgonia.Node, outs ...*gorgonia.Node) (*machine, error) {
	sorted, err := gorgonia.Sort(g)
	if err != nil {
		return nil, fmt.Errorf("sorting the graph: %w", err)
	}
	m := &machine{vals: make([]gorgonia.Value, len(sorted)), input: -1}
	pos := make(map[*gorgonia.Node]int, len(sorted))
	// Sort puts the roots first: run from the end.
	for i := range sorted {
		n := sorted[len(sorted)-1-i]
		pos[n] = i
		if n.Op() == nil {
			if n == input {
				m.input = i
				continue
			}
			if m.vals[i] = n.Value(); m.vals[i] == nil {
				return nil, fmt.Errorf("node %s has neither an operation nor a value", n.Name())
			}
			continue
		}
		st := instr{op: n.Op(), shape: n.Shape(), out: i, node: n}
		// From lists a node's children in order: the operation's inputs.
		for it := g.From(n.ID()); it.Next(); {
			c := it.Node().(*gorgonia.Node)
			p, ok := pos[c]
			if !ok {
				return nil, fmt.Errorf("node %s comes before its input %s", n.Name(), c.Name())
			}
			st.args = append(st.args, p)
		}
		if len(st.args) != st.op.Arity() {
			return nil, fmt.Errorf("node %s: %d inputs for %v", n.Name(), len(st.args), st.op)
		}
		st.argv = make([]gorgonia.Value, len(st.args))
		m.steps = append(m.steps, st)
	}
	if m.input < 0 {
		return nil, fmt.Errorf("the input node %s is not in the graph", input.Name())
	}
	for _, o := range outs {
		p, ok := pos[o]
		if !ok || o.Op() == nil {
			return nil, fmt.Errorf("the output node %s is not an operation of the graph", o.Name())
		}
		m.outs = append(m.outs, p)
	}
	return m, nil
}

// run executes the graph on x. The outputs' values are then out(i) until
// reset.
func (m *machine) run(x gorgonia.Value) error {
	m.vals[m.input] = x
	for i := range m.steps {
		st := &m.steps[i]
		for k, a := range st.args {
			st.argv[k] = m.vals[a]
		}
		v, err := st.op.Do(st.argv...)
		if err != nil {
			return fmt.Errorf("node %s: %w", st.node.Name(), err)
		}
		if !v.Shape().Eq(st.shape) {
			return fmt.Errorf("node %s: %v returned shape %v, want %v", st.node.Name(), st.op, v.Shape(), st.shape)
		}
		m.vals[st.out] = v
	}
	return nil
}

// out returns the value of the i-th output node of the last run.
func (m *machine) out(i int) gorgonia.Value { return m.vals[m.outs[i]] }

// reset drops the last run's values, so an idle machine holds none of them.
func (m *machine) reset() {
	m.vals[m.input] = nil
	for i := range m.steps {
		st := &m.steps[i]
		m.vals[st.out] = nil
		clear(st.argv)
	}
}
