package nets

import (
	"runtime"
	"slices"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestMachineMatchesTapeMachine runs each net's compiled graph on
// gorgonia's TapeMachine and on the machine the nets use: the same graph
// must give the same bits, in both arithmetic modes.
func TestMachineMatchesTapeMachine(t *testing.T) {
	for _, tc := range []struct {
		k       Kind
		n, h, w int
	}{
		{PNet, 1, 12, 12}, {PNet, 1, 37, 53}, {RNet, 5, 24, 24}, {ONet, 3, 48, 48},
	} {
		net, err := New(model(t), tc.k)
		if err != nil {
			t.Fatal(err)
		}
		for _, mode := range []Mode{Exact, FMA} {
			key := shape4{tc.n, tc.h, tc.w, 3}
			p, err := net.compile(key)
			if err != nil {
				t.Fatal(err)
			}
			p.mem.fma = mode == FMA
			x := tensor.New(tensor.WithShape(tc.n, tc.h, tc.w, 3), tensor.WithBacking(randomInput(7, key.size())))
			if err := p.m.run(x); err != nil {
				t.Fatalf("%v %v: machine: %v", tc.k, mode, err)
			}
			var got [][]float32
			for i := range p.outs {
				got = append(got, slices.Clone(p.m.out(i).(*tensor.Dense).Float32s()))
			}
			p.m.reset()
			p.mem.release()

			vm := gorgonia.NewTapeMachine(p.g)
			if err := gorgonia.Let(p.in, x); err != nil {
				t.Fatal(err)
			}
			if err := vm.RunAll(); err != nil {
				t.Fatalf("%v %v: TapeMachine: %v", tc.k, mode, err)
			}
			for i, o := range p.outs {
				want := o.Value().(*tensor.Dense).Float32s()
				if !slices.Equal(got[i], want) {
					t.Errorf("%v %v %dx%dx%d: output %d differs from the TapeMachine's", tc.k, mode, tc.n, tc.h, tc.w, i)
				}
			}
			vm.Close()
			p.mem.release()
		}
	}
}

// TestRunAllocs checks that a steady-state forward pass allocates nothing:
// its buffers, tensors, loop closures and the machine's slices are all
// reused from the previous pass.
func TestRunAllocs(t *testing.T) {
	old := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(old)
	for _, tc := range []struct {
		k       Kind
		n, h, w int
	}{
		{PNet, 1, 120, 160}, {PNet, 1, 700, 500}, {RNet, 300, 24, 24}, {ONet, 70, 48, 48},
	} {
		net, err := New(model(t), tc.k)
		if err != nil {
			t.Fatal(err)
		}
		x := randomInput(3, tc.n*tc.h*tc.w*3)
		for _, mode := range []Mode{Exact, FMA} {
			var out Output
			run := func() {
				if err := net.RunInto(&out, x, tc.n, tc.h, tc.w, mode); err != nil {
					t.Fatal(err)
				}
			}
			run()
			if a := testing.AllocsPerRun(20, run); a != 0 {
				t.Errorf("%v %v %dx%dx%d: %v allocations per pass, want 0", tc.k, mode, tc.n, tc.h, tc.w, a)
			}
		}
	}
}
