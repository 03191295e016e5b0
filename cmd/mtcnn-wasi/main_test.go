package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestDetect runs the lean detect on the sample photo: one JSON line whose
// face carries the full CLI's fields (record: rotation, pose, quality),
// and the option rules of the full CLI (an explicit 0 is refused).
func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string // a substring of stdout
		stderr string // a substring of stderr
	}{
		{[]string{"-json", "../../testdata/astronaut.png"}, 0, `"rotation":0,"pose":{`, ""},
		{[]string{"-min-size", "0", "../../testdata/astronaut.png"}, 2, "", "-min-size 0 is out of range"},
		{[]string{"-min-size", "1", "../../testdata/astronaut.png"}, 1, "", "min"},
		{[]string{"missing.png"}, 1, "", "missing.png"},
	} {
		var out, errb bytes.Buffer
		code := runDetect(context.Background(), tc.args, &out, &errb)
		if code != tc.code || !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errb.String(), tc.stderr) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d, %q, %q", tc.args, code, out.String(), errb.String(), tc.code, tc.stdout, tc.stderr)
			continue
		}
		if tc.code == 0 {
			var r struct {
				Image string            `json:"image"`
				Faces []json.RawMessage `json:"faces"`
			}
			if err := json.Unmarshal(out.Bytes(), &r); err != nil || len(r.Faces) != 1 {
				t.Errorf("%v: %q: %v, %d faces", tc.args, out.String(), err, len(r.Faces))
			}
		}
	}
}
