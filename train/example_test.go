package train_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/train"
	"github.com/mtcnn-go/mtcnn/weights"
)

// Fine-tune R-Net and O-Net of the embedded model on photos labelled with
// "mtcnn detect -json" (boxes corrected by hand), keeping the best model
// on disk as training goes.
func ExampleTrain() {
	labels, err := train.ReadLabels(train.JSONL, "labels.jsonl", "photos", nil)
	if err != nil {
		log.Fatal(err)
	}
	base, err := weights.Default()
	if err != nil {
		log.Fatal(err)
	}
	opts := train.Options{
		Nets: []nets.Kind{nets.RNet, nets.ONet},
		Seed: 1,
		Checkpoint: func(m *weights.Model, e train.Epoch) error {
			data, err := m.MarshalBinary()
			if err != nil {
				return err
			}
			return os.WriteFile("tuned.weights", data, 0o644)
		},
	}
	res, err := train.Train(context.Background(), base, labels.Images, opts)
	if err != nil {
		log.Fatal(err) // res.Model is still the best model so far
	}
	for _, e := range res.History {
		fmt.Println(e.Net, e.Epoch, e.Val.Recall, e.Val.AveragePrecision)
	}
}

func ExampleParseWIDER() {
	l, err := train.ParseWIDER(strings.NewReader(`0--Parade/0_Parade_marchingband_1_849.jpg
1
449 330 122 149 0 0 0 0 0 0
0--Parade/0_Parade_Parade_0_904.jpg
0
0 0 0 0 0 0 0 0 0 0
`))
	if err != nil {
		log.Fatal(err)
	}
	for _, im := range l.Images {
		fmt.Println(im.Path, len(im.Faces))
	}
	fmt.Println(l.Images[0].Faces[0].Box)
	// Output:
	// 0--Parade/0_Parade_marchingband_1_849.jpg 1
	// 0--Parade/0_Parade_Parade_0_904.jpg 0
	// [449 330 571 479]
}
