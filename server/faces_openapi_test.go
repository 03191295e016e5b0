package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/mtcnn-go/mtcnn/server"
)

// TestOpenAPIFaceRoutesReadTheirParameters: every query parameter that
// web/openapi.json documents for /v1/detect, /v1/crops and /v1/anonymize
// is read by that route: a bad value of it gets a 400.
func TestOpenAPIFaceRoutesReadTheirParameters(t *testing.T) {
	data, err := os.ReadFile("web/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	type param struct {
		Ref  string `json:"$ref"`
		Name string `json:"name"`
		In   string `json:"in"`
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []param `json:"parameters"`
		} `json:"paths"`
		Components struct {
			Parameters map[string]param `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		"min_size": "x", "factor": "x", "thresholds": "x", "mode": "smudge", "mask_scale": "x",
		"boxes": "maybe", "threshold": "2", "dry_run": "2", "rotate": "sideways", "rotate_step": "x",
		"largest": "2", "top": "x", "min_score": "2", "max_yaw": "x", "crop": "affine",
		"crop_size": "x", "crop_margin": "x",
	}
	s, _ := newServer(t, server.Config{}, &fakeDetector{faces: twoFaces})
	img := pngBytes(t, 64, 48)
	for _, path := range []string{"/v1/detect", "/v1/crops", "/v1/anonymize"} {
		op, ok := doc.Paths[path]["post"]
		if !ok {
			t.Fatalf("%s: no post operation documented", path)
		}
		n := 0
		for _, p := range op.Parameters {
			if p.Ref != "" {
				p = doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
			}
			if p.In != "query" {
				continue
			}
			v, ok := bad[p.Name]
			if !ok {
				t.Errorf("%s: parameter %q has no bad value in this test", path, p.Name)
				continue
			}
			n++
			rec := do(t, s.Handler(), "POST", path+"?"+p.Name+"="+v, bytes.NewReader(img))
			if rec.Code != http.StatusBadRequest {
				t.Errorf("%s?%s=%s: status %d, want 400", path, p.Name, v, rec.Code)
			}
		}
		if n < 9 {
			t.Errorf("%s: %d query parameters documented, want at least 9", path, n)
		}
	}
}
