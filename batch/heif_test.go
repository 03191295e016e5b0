package batch

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
)

// encodeWith runs an external encoder; it skips the test when the tool is
// missing, except under CI (CI=true), where that fails.
func encodeWith(t *testing.T, tool, pkg string, args ...string) {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		msg := tool + " not found (Debian package " + pkg + ")"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if out, err := exec.Command(p, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", tool, args, err, out)
	}
}

// TestHEIFCollection encodes the shared solvay.png (29 faces) as HEIC
// with heif-enc and as AVIF with avifenc, under names that hide their
// format, and runs them through a batch with several workers at once.
func TestHEIFCollection(t *testing.T) {
	src := testenv.Path(t, "testdata", "images", "solvay.png")
	dir := t.TempDir()
	heic := filepath.Join(dir, "phone", "IMG_0001.bin")
	avif := filepath.Join(dir, "phone", "IMG_0002.bin")
	os.MkdirAll(filepath.Dir(heic), 0o755)
	encodeWith(t, "heif-enc", "libheif-examples", "-q", "90", "-o", heic, src)
	encodeWith(t, "avifenc", "libavif-bin", "--min", "10", "--max", "20", "-s", "8", src, avif)
	// Twice each, so that decoders run concurrently.
	for _, p := range []string{heic, avif} {
		data, _ := os.ReadFile(p)
		os.WriteFile(filepath.Join(dir, "copy-"+filepath.Base(p)), data, 0o644)
	}
	items, err := Walk(context.Background(), []string{dir}, nil)
	if err != nil || len(items) != 4 {
		t.Fatalf("%d items, %v", len(items), err)
	}
	det, err := cascade.NewDefault()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), det, items, Options{Workers: 4}, func(r *Result) error {
		if r.Err != nil {
			t.Errorf("%s: %v", r.Item.Rel, r.Err)
			return nil
		}
		want := "heic"
		if strings.HasSuffix(r.Item.Rel, "IMG_0002.bin") {
			want = "avif"
		}
		if r.Format != want || r.Width != 960 || r.Height != 661 {
			t.Errorf("%s: %s %dx%d, want %s 960x661", r.Item.Rel, r.Format, r.Width, r.Height, want)
		}
		t.Logf("%s (%s): %d faces", r.Item.Rel, r.Format, len(r.Faces))
		if len(r.Faces) < 27 {
			t.Errorf("%s (%s): %d faces, want >= 27", r.Item.Rel, r.Format, len(r.Faces))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
