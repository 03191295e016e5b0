package orient_test

import (
	"context"
	"image/jpeg"
	"os"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
	"github.com/mtcnn-go/mtcnn/orient"
)

// TestStoredSideways runs the sweep on a real sideways photo rather than
// one turned by Rotate: hopper_exif6.jpg decoded without its EXIF
// orientation (6: the stored pixels show the head to the left). The face
// must come back with rotation 90, inside the stored image.
func TestStoredSideways(t *testing.T) {
	f, err := os.Open(testenv.Path(t, "testdata", "images", "hopper_exif6.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f) // image/jpeg ignores EXIF
	if err != nil {
		t.Fatal(err)
	}
	faces, rots, _, err := orient.Detect(context.Background(), detector(t), img, cascade.DefaultOptions(), orient.Auto)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d faces, rotations %v", len(faces), rots)
	if len(faces) != 1 || rots[0] != 90 {
		t.Fatalf("%d faces with rotations %v, want one at 90", len(faces), rots)
	}
	b := img.Bounds()
	for _, p := range faces[0].Landmarks {
		if p[0] < 0 || p[1] < 0 || float64(p[0]) > float64(b.Dx()) || float64(p[1]) > float64(b.Dy()) {
			t.Errorf("landmark %v outside the %v image", p, b)
		}
	}
	// In the stored image the head lies to the left: the eyes are left
	// of the mouth corners.
	eyes := (faces[0].Landmarks[0][0] + faces[0].Landmarks[1][0]) / 2
	mouth := (faces[0].Landmarks[3][0] + faces[0].Landmarks[4][0]) / 2
	if eyes >= mouth {
		t.Errorf("eyes at x %.1f, mouth at x %.1f: want the eyes on the left", eyes, mouth)
	}
}
