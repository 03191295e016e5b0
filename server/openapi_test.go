package server

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRouter checks that every documented path and method
// is routed and every route is documented, and that each documented
// operation answers something other than 404 or 405.
func TestOpenAPIMatchesRouter(t *testing.T) {
	data, err := web.ReadFile("web/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q, want 3.x", doc.OpenAPI)
	}
	methods := map[string]bool{"get": true, "put": true, "post": true, "delete": true, "options": true, "head": true, "patch": true, "trace": true}
	var documented []string
	for path, item := range doc.Paths {
		for m := range item {
			if methods[m] {
				documented = append(documented, strings.ToUpper(m)+" "+path)
			}
		}
	}
	s := New(Config{}, nil, slog.New(slog.DiscardHandler))
	var routed []string
	for _, r := range s.routes {
		routed = append(routed, r.method+" "+r.path)
	}
	slices.Sort(documented)
	slices.Sort(routed)
	for _, d := range documented {
		if !slices.Contains(routed, d) {
			t.Errorf("documented but not routed: %s", d)
		}
	}
	for _, r := range routed {
		if !slices.Contains(documented, r) {
			t.Errorf("routed but not documented: %s", r)
		}
	}
	// And the router really dispatches them.
	for _, d := range documented {
		method, path, _ := strings.Cut(d, " ")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed {
			t.Errorf("%s answers %d", d, rec.Code)
		}
	}
}

// TestOpenAPIErrorCodes checks that the document lists every error code
// the server can send.
func TestOpenAPIErrorCodes(t *testing.T) {
	data, err := web.ReadFile("web/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas struct {
				Error struct {
					Properties struct {
						Error struct {
							Properties struct {
								Code struct {
									Enum []string `json:"enum"`
								} `json:"code"`
							} `json:"properties"`
						} `json:"error"`
					} `json:"properties"`
				} `json:"Error"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	enum := doc.Components.Schemas.Error.Properties.Error.Properties.Code.Enum
	src, err := readSources()
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range errorCodesIn(src) {
		if code == "canceled" { // never reaches a client
			continue
		}
		if !slices.Contains(enum, code) {
			t.Errorf("error code %q is sent but not in the OpenAPI enum", code)
		}
	}
}

// readSources returns the package's non-test Go sources.
func readSources() (string, error) {
	var b strings.Builder
	for _, name := range []string{"errors.go", "handlers.go", "router.go", "middleware.go", "pool.go", "server.go", "faces.go"} {
		data, err := os.ReadFile(name)
		if err != nil {
			return "", err
		}
		b.Write(data)
	}
	return b.String(), nil
}

// errorCodesIn finds the codes passed as Code: "x" or newError(status, "x", ...).
func errorCodesIn(src string) []string {
	var codes []string
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`Code: +"([a-z_]+)"`),
		regexp.MustCompile(`newError\([^,]+, "([a-z_]+)"`),
	} {
		for _, m := range re.FindAllStringSubmatch(src, -1) {
			codes = append(codes, m[1])
		}
	}
	slices.Sort(codes)
	return slices.Compact(codes)
}
