package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// runVersionCmd is "mtcnn version [-model FILE]": the version, and with
// -model the provenance a trained model carries.
func runVersionCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelPath := fs.String("model", "", "also print this model's provenance (written by mtcnn train)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "Usage: mtcnn version [-model FILE]")
		return 2
	}
	if code := runVersion(stdout); code != 0 || *modelPath == "" {
		return code
	}
	m, err := loadModel(*modelPath)
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn version: %v\n", err)
		return 1
	}
	md := m.Metadata()
	if len(md) == 0 {
		fmt.Fprintf(stdout, "model %s: no provenance recorded\n", *modelPath)
		return 0
	}
	fmt.Fprintf(stdout, "model %s:\n", *modelPath)
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(stdout, "  %s: %s\n", k, strings.ReplaceAll(md[k], "\n", " "))
	}
	return 0
}
