// Package cliflag holds the command-line flag handling the mtcnn commands
// share (the full CLI and the lean WASI module): flags interspersed with
// positional arguments, and the detection option flags, which tell a flag
// not given from one given as 0.
package cliflag

import (
	"flag"
	"fmt"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/detopts"
)

// Interspersed parses flags that may come before or after the positional
// arguments ("convert in.pb -o out" as well as "convert -o out in.pb") and
// returns the positionals. Everything after "--" is positional.
func Interspersed(fs *flag.FlagSet, args []string) ([]string, error) {
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

// textFlag is a string flag that remembers whether it was given, so
// that an explicit value is told apart from the default.
type textFlag struct {
	value string
	def   string // shown by -h
	set   bool
}

func (t *textFlag) String() string {
	if t == nil {
		return ""
	}
	if t.set {
		return t.value
	}
	return t.def
}

func (t *textFlag) Set(s string) error {
	t.value, t.set = s, true
	return nil
}

// given returns the value, or nil when the flag was not given.
func (t *textFlag) given() *string {
	if !t.set {
		return nil
	}
	return &t.value
}

// Options are the detection option flags, -min-size, -factor and
// -thresholds, checked by internal/detopts with the HTTP API's rules: a
// flag not given means the default, an explicit value is honoured or
// refused, never replaced.
type Options struct {
	minSize, factor, thresholds textFlag
}

// AddOptions defines the detection option flags on fs.
func AddOptions(fs *flag.FlagSet) *Options {
	def := cascade.DefaultOptions()
	o := &Options{
		minSize:    textFlag{def: "20"},
		factor:     textFlag{def: "0.709"},
		thresholds: textFlag{def: fmt.Sprintf("%g,%g,%g", def.Thresholds[0], def.Thresholds[1], def.Thresholds[2])},
	}
	fs.Var(&o.minSize, "min-size", "smallest face side in `pixels`, at least 1")
	fs.Var(&o.factor, "factor", "pyramid scale step `ratio`, above 0 and below 1")
	fs.Var(&o.thresholds, "thresholds", "P-Net, R-Net, O-Net score thresholds `a,b,c`, each in [0, 1] (0,0,0 keeps every candidate)")
	return o
}

// Options returns the options the flags give; errors wrap
// cascade.ErrOptions and name the flag and its range.
func (o *Options) Options() (cascade.Options, error) {
	return detopts.Parse(detopts.Text{
		MinSize: o.minSize.given(), Factor: o.factor.given(), Thresholds: o.thresholds.given(),
	}, detopts.Flags)
}
