package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mtcnn-go/mtcnn/weights"
)

const convertUsage = `Usage: mtcnn convert FROZEN.pb -o FILE

Reads a TensorFlow 1.x frozen graph holding the MTCNN weights under the
original node names (pnet/conv1/weights, ..., onet/conv6-3/biases), checks
every tensor's dtype and shape, and writes the compact weights file that
"mtcnn detect -model FILE" reads and the binary embeds. Converting the same
graph always gives the same bytes.

Flags:
`

func runConvert(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, convertUsage); fs.PrintDefaults() }
	out := fs.String("o", "", "output weights file (required)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(pos) != 1 || *out == "" {
		fs.Usage()
		return 2
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn convert: %v\n", err)
		return 1
	}
	m, err := weights.FromGraphDef(data)
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn convert: %s: %v\n", pos[0], err)
		return 1
	}
	enc, err := m.MarshalBinary()
	if err == nil {
		err = os.WriteFile(*out, enc, 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn convert: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s: %d tensors, %d bytes\n", *out, len(m.Names()), len(enc))
	return 0
}

func runInspect(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "Usage: mtcnn inspect FROZEN.pb\n\nLists every Const node of a TensorFlow frozen graph with its dtype and shape.")
		return 2
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn inspect: %v\n", err)
		return 1
	}
	g, err := weights.ParseGraphDef(data)
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn inspect: %s: %v\n", args[0], err)
		return 1
	}
	for _, c := range g.Consts() {
		fmt.Fprintf(stdout, "%s\t%v\t%v\n", c.Name, c.DType, c.Shape)
	}
	return 0
}
