package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64 // 0: refused
	}{
		{"700MB", 700_000_000},
		{"700MiB", 700 << 20},
		{"1.5GiB", 3 << 29},
		{"2GB", 2_000_000_000},
		{" 64 KiB ", 64 << 10},
		{"12345", 12345},
		{"10B", 10},
		{"1kB", 1000},
		{"0", 0},
		{"-5MB", 0},
		{"MB", 0},
		{"7XB", 0},
		{"1e30TB", 0},
		{"NaN", 0},
		{"", 0},
	} {
		var b byteSize
		err := b.Set(tc.in)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("%q accepted as %d", tc.in, b)
			}
			continue
		}
		if err != nil || int64(b) != tc.want {
			t.Errorf("%q: %d, %v; want %d", tc.in, b, err, tc.want)
		}
	}
}

func FuzzByteSize(f *testing.F) {
	for _, s := range []string{"700MB", "1.5GiB", "0", "-1", "9e18", "1e400KiB", " 3 B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var b byteSize
		if err := b.Set(s); err == nil && b <= 0 {
			t.Fatalf("%q accepted as %d", s, b)
		}
	})
}

func TestServeMaxMemoryFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"serve", "-max-memory", "0"}, `"0" is not a positive size`},
		{[]string{"serve", "-max-memory", "lots"}, "write bytes or a number with a unit"},
		{[]string{"serve", "-max-memory", "1MB"}, "-max-memory must be at least 32MiB"},
	} {
		_, stderr, code := runCLI(tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.msg)
		}
	}
}

// TestDetectEmptyFile: the CLI says what the server says for an empty
// body.
func TestDetectEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.jpg")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI("detect", path)
	if want := "mtcnn detect: " + path + ": no image: the input is empty\n"; code != 1 || stderr != want {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, want)
	}
}
