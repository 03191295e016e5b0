package weights_test

import (
	"fmt"

	"github.com/mtcnn-go/mtcnn/weights"
)

func ExampleDefault() {
	m, err := weights.Default()
	if err != nil {
		panic(err)
	}
	k := m.Tensor("onet/conv6-3/weights") // O-Net's landmark head, HWIO
	fmt.Println(len(m.Names()), "tensors;", k.Name, k.Shape)
	// Output: 50 tensors; onet/conv6-3/weights [1 1 256 10]
}

func ExampleDecode() {
	// A converted file round-trips: Decode(MarshalBinary(m)) gives m back.
	m, err := weights.Decode(weights.Embedded())
	if err != nil {
		panic(err)
	}
	b, _ := m.MarshalBinary()
	fmt.Println(len(b) == len(weights.Embedded()))
	_, err = weights.Decode(b[:100])
	fmt.Println(err)
	// Output:
	// true
	// malformed model file: checksum mismatch (truncated or corrupt file)
}
