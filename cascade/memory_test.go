package cascade_test

import (
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
)

// TestWorkingSetBounded checks the shape of the memory model: a small
// image pays for its BGR copy, a large one does not, and the figure stops
// growing with the image.
func TestWorkingSetBounded(t *testing.T) {
	def := cascade.Options{}
	small := cascade.WorkingSet(640, 480, def)
	if small < 3*640*480 {
		t.Errorf("640x480: %d bytes, less than its BGR copy", small)
	}
	big := cascade.WorkingSet(8000, 5500, def)
	huge := cascade.WorkingSet(7071, 7071, def)
	if big > 100<<20 || huge > 100<<20 {
		t.Errorf("44 MP: %d bytes, 50 MP: %d bytes, want under 100 MiB", big, huge)
	}
	if d := huge - big; d < -(8<<20) || d > 8<<20 {
		t.Errorf("44 MP: %d bytes, 50 MP: %d bytes: the working set grows with the image", big, huge)
	}
	if tiny := cascade.WorkingSet(8, 8, def); tiny <= 0 || tiny > small {
		t.Errorf("8x8: %d bytes", tiny)
	}
	if got := cascade.WorkingSet(0, 0, def); got <= 0 {
		t.Errorf("0x0: %d bytes", got)
	}
}
