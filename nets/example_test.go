package nets_test

import (
	"fmt"

	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/weights"
)

func ExampleNet_Run() {
	m, err := weights.Default()
	if err != nil {
		panic(err)
	}
	pnet, err := nets.New(m, nets.PNet)
	if err != nil {
		panic(err)
	}
	// A 30x40 input (NHWC, BGR, normalised to [-1, 1)) gives a 10x15 map of
	// face probabilities and box regressions.
	const h, w = 30, 40
	x := make([]float32, h*w*3)
	out, err := pnet.Run(x, 1, h, w)
	if err != nil {
		panic(err)
	}
	fmt.Println(out.H, out.W, len(out.Prob), len(out.Reg))
	// Output: 10 15 150 600
}

// RunInto reuses one Output across calls, so a loop over frames or crops
// allocates no result slices once they have grown.
func ExampleNet_RunInto() {
	m, err := weights.Default()
	if err != nil {
		panic(err)
	}
	onet, err := nets.New(m, nets.ONet)
	if err != nil {
		panic(err)
	}
	var out nets.Output
	for _, batch := range []int{3, 2} {
		crops := make([]float32, batch*48*48*3) // NHWC, BGR, normalised
		if err := onet.RunInto(&out, crops, batch, 48, 48, nets.Exact); err != nil {
			panic(err)
		}
		fmt.Println(out.N, len(out.Prob), len(out.Reg), len(out.Landmarks))
	}
	// Output:
	// 3 3 12 30
	// 2 2 8 20
}
