package server

import (
	"net/http"
	"strings"

	"github.com/mtcnn-go/mtcnn/internal/wasmweb"
)

// withWasm serves the browser build under /wasm/ (internal/wasmweb: the
// glue always, mtcnn.wasm and wasm_exec.js from Config.WasmDir when set)
// and passes every other request to rt. The files are static assets, not
// API operations, so they are not in the route table or the OpenAPI
// document; they need the bearer token like the page does.
func (s *Server) withWasm(rt *router) http.Handler {
	wasm := wasmweb.Handler(s.cfg.WasmDir)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, wasmweb.Prefix) {
			rt.ServeHTTP(w, r)
			return
		}
		if info := infoFrom(r.Context()); info != nil {
			info.route = wasmweb.Prefix // one bounded label value for all
		}
		if rt.hasAuth && !rt.authorized(r) {
			s.writeError(w, r, newError(http.StatusUnauthorized, "unauthorized",
				"missing or wrong bearer token in the Authorization header"))
			return
		}
		wasm.ServeHTTP(w, r)
	})
}
