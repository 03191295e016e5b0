package main

import (
	"flag"
	"fmt"

	"github.com/mtcnn-go/mtcnn/cascade"
)

// parseInterspersed parses flags that may come before or after the
// positional arguments ("convert in.pb -o out" as well as "convert -o out
// in.pb") and returns the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// thresholdsFlag parses "a,b,c" into three float32 thresholds.
type thresholdsFlag [3]float32

func (t *thresholdsFlag) String() string {
	return fmt.Sprintf("%g,%g,%g", t[0], t[1], t[2])
}

func (t *thresholdsFlag) Set(s string) error {
	v, err := cascade.ParseThresholds(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}
