package web

import "net/http"

// RegisterForTest exposes route registration so a test can prove that a
// route without a permission stops start-up.
func (s *Server) RegisterForTest(routes []Route) error {
	_, err := s.register(routes)
	return err
}

// PageNamesForTest lists the page templates.
func (s *Server) PageNamesForTest() []string { return s.tmpl.names() }

var _ = http.MethodGet
