package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
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
	v, err := parseThresholds(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// parseThresholds parses exactly three comma-separated numbers.
func parseThresholds(s string) ([3]float32, error) {
	var out [3]float32
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return out, fmt.Errorf("want three comma-separated thresholds, got %q", s)
	}
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 32)
		if err != nil {
			return out, fmt.Errorf("threshold %q: %w", p, err)
		}
		out[i] = float32(f)
	}
	return out, nil
}
