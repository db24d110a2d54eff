package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/mamori-dev/mamori"
)

// Kind says how a route authenticates and answers.
type Kind int

const (
	// KindPage: HTML for browsers; session cookie; CSRF-checked.
	KindPage Kind = iota
	// KindAPI: JSON under /api/v1; bearer token only, never cookies.
	KindAPI
	// KindSystem: health, metrics, static files.
	KindSystem
)

func (k Kind) String() string {
	switch k {
	case KindAPI:
		return "api"
	case KindSystem:
		return "system"
	}
	return "page"
}

// Route is one row of THE route table.
type Route struct {
	Method  string
	Pattern string // net/http ServeMux pattern path
	Perm    mamori.Permission
	Kind    Kind
	Handler http.HandlerFunc

	// StepUp requires a recent authentication (password change, MFA
	// changes, role grants, token creation).
	StepUp bool
	// AllowRestricted lets a restricted session (MFA still to enrol, or a
	// password to change) use the route.
	AllowRestricted bool
	// Upload raises the body limit to limits.upload.
	Upload bool

	// Doc describes an API route for the OpenAPI document.
	Doc *APIDoc
}

// APIDoc documents one API operation.
type APIDoc struct {
	ID      string // operationId
	Summary string
	Tag     string
	Query   []Param
	In      any // request body example value (its type is documented)
	Out     any // response body example value
	Status  int // success status; 200 when zero
}

// Param is a documented query parameter.
type Param struct {
	Name, Type, Description string
}

// register checks every route and mounts it. Any route without a
// permission, a duplicate, or an API route without documentation stops
// start-up: deny by default, document by default.
func (s *Server) register(routes []Route) (*http.ServeMux, error) {
	mux := http.NewServeMux()
	seen := map[string]bool{}
	for i := range routes {
		rt := &routes[i]
		key := rt.Method + " " + rt.Pattern
		switch {
		case rt.Perm == "":
			return nil, fmt.Errorf("web: route %s has no permission", key)
		case rt.Handler == nil:
			return nil, fmt.Errorf("web: route %s has no handler", key)
		case seen[key]:
			return nil, fmt.Errorf("web: route %s is declared twice", key)
		case rt.Kind == KindAPI && !strings.HasPrefix(rt.Pattern, "/api/v1/"):
			return nil, fmt.Errorf("web: API route %s is outside /api/v1", key)
		case rt.Kind == KindAPI && rt.Doc == nil:
			return nil, fmt.Errorf("web: API route %s is not documented", key)
		case rt.Kind != KindAPI && strings.HasPrefix(rt.Pattern, "/api/"):
			return nil, fmt.Errorf("web: route %s under /api must be of kind api", key)
		}
		seen[key] = true
		mux.Handle(key, s.handlerFor(rt))
	}
	// Everything else: a 404 that still carries the security headers, in
	// the format the client expects.
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := mamori.Errorf(mamori.ENOTFOUND, "The page was not found.")
		if strings.HasPrefix(r.URL.Path, "/api/") {
			s.apiFail(w, r, err)
			return
		}
		s.servePage(w, r, &Route{Method: r.Method, Pattern: "/", Perm: mamori.Public, Kind: KindPage,
			Handler: func(w http.ResponseWriter, r *http.Request) { s.pageFail(w, r, err) }})
	}))
	return mux, nil
}
