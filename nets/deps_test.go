package nets

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNetsAreGorgoniaGraphs checks the dependency graph: the nets are built
// on gorgonia, and nothing this package links needs cgo.
func TestNetsAreGorgoniaGraphs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	// With cgo enabled (where a C compiler exists) go list reports the cgo
	// files a package would compile; there must be none.
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{len .CgoFiles}}", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	deps := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, cgo, _ := strings.Cut(line, " ")
		deps[path] = true
		if cgo != "0" {
			t.Errorf("%s has cgo files", path)
		}
	}
	for _, want := range []string{"gorgonia.org/gorgonia", "gorgonia.org/tensor"} {
		if !deps[want] {
			t.Errorf("nets does not depend on %s", want)
		}
	}
}
