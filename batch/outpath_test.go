package batch

import (
	"path/filepath"
	"testing"
)

func TestOutputPath(t *testing.T) {
	for _, tc := range []struct{ dir, rel, suffix, want string }{
		{"out", "IMG_0001.jpg", ".png", "out/IMG_0001.jpg.png"},
		{"out", "a/IMG_0001.jpg", ".png", "out/a/IMG_0001.jpg.png"},
		{"out", "b/IMG_0001.jpg", ".png", "out/b/IMG_0001.jpg.png"},
		{"out", "x.heic", "", "out/x.heic"},
		{"out", "../../etc/passwd", ".png", "out/etc/passwd.png"},
		{"out", "/abs/x.jpg", ".png", "out/abs/x.jpg.png"},
		{"/tmp/o", "a/./b//c.jpg", "-face0.png", "/tmp/o/a/b/c.jpg-face0.png"},
	} {
		if got := OutputPath(tc.dir, tc.rel, tc.suffix); got != filepath.FromSlash(tc.want) {
			t.Errorf("OutputPath(%q, %q, %q) = %q, want %q", tc.dir, tc.rel, tc.suffix, got, tc.want)
		}
	}
}
