package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"testing"

	"github.com/mtcnn-go/mtcnn/server"
)

// pythonRequestsForm returns a body byte for byte as Python's requests
// (2.34, urllib3 2.7) encodes requests.post(url, files={"image": img},
// data=fields), the call deepstack-python's post_image makes for Home
// Assistant's deepstack_face: the data fields first, in order, then the
// image as a file part named "image" with filename "image" and no
// Content-Type of its own. fields alternates names and values.
func pythonRequestsForm(img []byte, fields ...string) ([]byte, string) {
	const boundary = "86a7586570c41817646420121546ab45"
	var b bytes.Buffer
	for i := 0; i+1 < len(fields); i += 2 {
		b.WriteString("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + fields[i] + "\"\r\n\r\n" + fields[i+1] + "\r\n")
	}
	b.WriteString("--" + boundary + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"image\"\r\n\r\n")
	b.Write(img)
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return b.Bytes(), "multipart/form-data; boundary=" + boundary
}

// haFace is what HASS-Deepstack-face's get_faces derives from one
// prediction: it reads confidence, x_min, y_min, x_max and y_max, takes
// userid when present ("unknown" otherwise) and divides the integer
// box by the image size.
type haFace struct {
	name          string
	confidence    float64
	width, height int
}

// haGetFaces decodes an answer as deepstack-python and the Home
// Assistant component do: response.json()["predictions"], then
// get_faces. Python would raise KeyError on a missing key; here that is
// a test failure.
func haGetFaces(t *testing.T, body []byte) []haFace {
	t.Helper()
	var resp map[string]any
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("response.json(): %v; body %s", err, body)
	}
	preds, ok := resp["predictions"].([]any)
	if !ok {
		t.Fatalf(`response["predictions"] is %T; body %s`, resp["predictions"], body)
	}
	var out []haFace
	for _, p := range preds {
		pred := p.(map[string]any)
		f := haFace{name: "unknown"}
		if u, ok := pred["userid"].(string); ok {
			f.name = u
		}
		num := func(k string) float64 {
			v, ok := pred[k].(float64)
			if !ok {
				t.Fatalf("pred[%q] = %v (%T), want a number", k, pred[k], pred[k])
			}
			return v
		}
		f.confidence = num("confidence")
		f.width = int(num("x_max") - num("x_min"))
		f.height = int(num("y_max") - num("y_min"))
		out = append(out, f)
	}
	return out
}

// TestDeepStackHomeAssistantClient replays the requests Home Assistant's
// deepstack_face (detect_only: True, through deepstack-python) sends, in
// their exact encoding: an api_key field that is always present (empty
// when none is configured), no min_confidence (so DeepStack's default
// applies), the image last. Status 200 is the only one the client
// accepts; every other one it logs as an error.
func TestDeepStackHomeAssistantClient(t *testing.T) {
	img := pngBytes(t, 100, 60)
	for _, tc := range []struct {
		name, token, apiKey string
		status              int
		faces               []haFace
	}{
		{"no api_key configured", "", "", 200, []haFace{{"unknown", 0.99, 30, 38}, {"unknown", 0.93, 30, 38}}},
		{"api_key = -auth-token", "tok", "tok", 200, []haFace{{"unknown", 0.99, 30, 38}, {"unknown", 0.93, 30, 38}}},
		{"api_key missing from HA", "tok", "", 401, nil},
		{"wrong api_key", "tok", "other", 401, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newServer(t, server.Config{AuthToken: tc.token}, &fakeDetector{faces: twoFaces})
			body, ct := pythonRequestsForm(img, "api_key", tc.apiKey)
			rec := do(t, s.Handler(), "POST", "/v1/vision/face", bytes.NewReader(body), "Content-Type", ct)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status != 200 {
				wantDeepStackError(t, rec, tc.status, "Incorrect api key")
				return
			}
			got := haGetFaces(t, rec.Body.Bytes())
			if len(got) != len(tc.faces) {
				t.Fatalf("faces %v, want %v", got, tc.faces)
			}
			for i, f := range got {
				w := tc.faces[i]
				if f.name != w.name || float32(f.confidence) != float32(w.confidence) || f.width != w.width || f.height != w.height {
					t.Errorf("face %d: %+v, want %+v", i, f, w)
				}
			}
		})
	}
}

// TestE2EDeepStackHomeAssistant posts the repository's photo to a real
// server as Home Assistant's client encodes it and checks that the
// client finds the astronaut's face.
func TestE2EDeepStackHomeAssistant(t *testing.T) {
	data, err := os.ReadFile("../testdata/astronaut.png")
	if err != nil {
		t.Fatal(err)
	}
	s := startReal(t)
	body, ct := pythonRequestsForm(data, "api_key", "")
	resp, err := http.Post(s.URL()+"/v1/vision/face", ct, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d; body %s", resp.StatusCode, buf.Bytes())
	}
	faces := haGetFaces(t, buf.Bytes())
	if len(faces) != 1 || faces[0].confidence <= server.DeepStackFaceMinConfidence || faces[0].width < 40 || faces[0].height < 40 {
		t.Fatalf("faces %+v, want the astronaut's one face; body %s", faces, buf.Bytes())
	}
	t.Logf("Home Assistant would see %+v", faces)
}
