package shared

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDir(t *testing.T) {
	t.Setenv("MTCNN_SHARED", "/somewhere/else")
	if d, err := Dir(); err != nil || d != "/somewhere/else" {
		t.Errorf("Dir() = %q, %v with MTCNN_SHARED set", d, err)
	}
	t.Setenv("MTCNN_SHARED", "")
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Errorf("ModuleRoot() = %q has no go.mod", root)
	}
	if d, err := Dir(); err != nil || d != filepath.Join(root, "..", "shared") {
		t.Errorf("Dir() = %q, %v; want ../shared beside %s", d, err, root)
	}
}
