package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"
)

// route is one endpoint: an exact path and method.
type route struct {
	method  string
	path    string
	public  bool // reachable without the auth token
	handler http.HandlerFunc
}

// router dispatches on exact paths and answers 401, 404 and 405 as JSON
// through writeError. A HEAD request is served by the GET route.
type router struct {
	s       *Server
	byPath  map[string]map[string]route
	token   [sha256.Size]byte
	hasAuth bool
}

// newRouter returns a router for routes, requiring token (when not empty)
// on every non-public route and on unknown paths.
func (s *Server) newRouter(routes []route, token string) *router {
	rt := &router{s: s, byPath: make(map[string]map[string]route)}
	for _, r := range routes {
		if rt.byPath[r.path] == nil {
			rt.byPath[r.path] = make(map[string]route)
		}
		rt.byPath[r.path][r.method] = r
	}
	if token != "" {
		rt.hasAuth = true
		rt.token = sha256.Sum256([]byte(token))
	}
	return rt
}

// ServeHTTP routes r.
func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	methods := rt.byPath[r.URL.Path]
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	rte, found := methods[method]
	public := len(methods) > 0
	for _, m := range methods {
		public = public && m.public
	}
	if info := infoFrom(r.Context()); info != nil && len(methods) > 0 {
		info.route = r.URL.Path // a known path: bounded label values
	}
	if rt.hasAuth && !public && !rt.authorized(r) {
		rt.s.writeError(w, r, newError(http.StatusUnauthorized, "unauthorized",
			"missing or wrong bearer token in the Authorization header"))
		return
	}
	switch {
	case len(methods) == 0:
		rt.s.writeError(w, r, newError(http.StatusNotFound, "not_found", "no such endpoint: %s", r.URL.Path))
		return
	case !found:
		allow := make([]string, 0, len(methods)+1)
		for m := range methods {
			allow = append(allow, m)
			if m == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
		slices.Sort(allow)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		rt.s.writeError(w, r, newError(http.StatusMethodNotAllowed, "method_not_allowed",
			"%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", ")))
		return
	}
	rte.handler(w, r)
}

// authorized reports whether r carries the bearer token. The digests are
// compared in constant time, so neither content nor length leaks.
func (rt *router) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(got[:], rt.token[:]) == 1
}
