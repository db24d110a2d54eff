package web

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/i18n"
)

// statusOf is THE mapping of application error codes to HTTP status.
var statusOf = map[mamori.Code]int{
	mamori.EINVALID:         http.StatusUnprocessableEntity,
	mamori.ENOTFOUND:        http.StatusNotFound,
	mamori.ECONFLICT:        http.StatusConflict,
	mamori.EUNAUTHENTICATED: http.StatusUnauthorized,
	mamori.EFORBIDDEN:       http.StatusForbidden,
	mamori.ERATELIMITED:     http.StatusTooManyRequests,
	mamori.ETOOLARGE:        http.StatusRequestEntityTooLarge,
	mamori.EUNAVAILABLE:     http.StatusServiceUnavailable,
	mamori.ENOTIMPLEMENTED:  http.StatusNotImplemented,
	mamori.EINTERNAL:        http.StatusInternalServerError,
}

// httpStatus returns the status for err.
func httpStatus(err error) int {
	if s, ok := statusOf[mamori.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// apiError is the JSON error body of the REST API.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code      string            `json:"code"`
	Message   string            `json:"message"`
	Fields    map[string]string `json:"fields,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
}

// logError logs internal errors with the request ID; other codes are the
// user's doing and need no log line of their own (the access log has them).
func (s *Server) logError(r *http.Request, err error) {
	if mamori.ErrorCode(err) == mamori.EINTERNAL || mamori.ErrorCode(err) == mamori.EUNAVAILABLE {
		s.log.ErrorContext(r.Context(), "request failed", slog.String("request_id", requestID(r)),
			slog.String("route", routePattern(r)), slog.Any("error", err))
	}
}

// apiFail writes err as the API's JSON error, translated into the request's
// language. Internal causes never reach the client.
func (s *Server) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	s.logError(r, err)
	lang := langOf(r)
	body := apiError{Error: apiErrorBody{
		Code:      string(mamori.ErrorCode(err)),
		Message:   localize(lang, err),
		RequestID: requestID(r),
	}}
	if f := mamori.ErrorFields(err); len(f) > 0 {
		body.Error.Fields = make(map[string]string, len(f))
		for k, v := range f {
			body.Error.Fields[k] = i18n.T(lang, v)
		}
	}
	if mamori.ErrorCode(err) == mamori.ERATELIMITED {
		w.Header().Set("Retry-After", "60")
	}
	writeJSON(w, httpStatus(err), body)
}

// pageFail renders err as an HTML error page.
func (s *Server) pageFail(w http.ResponseWriter, r *http.Request, err error) {
	s.logError(r, err)
	status := httpStatus(err)
	if status == http.StatusUnauthorized {
		s.redirectToSignIn(w, r)
		return
	}
	s.render(w, r, status, "error", errorPage{
		Status:  status,
		Message: localize(langOf(r), err),
		Fields:  mamori.ErrorFields(err),
	})
}

type errorPage struct {
	Status  int
	Message string
	Fields  map[string]string
}

var errBodyTooLarge = mamori.Errorf(mamori.ETOOLARGE, "The request is too large.")

// decodeErr maps body-reading errors (size limit) to application errors.
func decodeErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errBodyTooLarge
	}
	return err
}

// localize translates an error's message into lang, translating the
// English format before its arguments are put in.
func localize(lang i18n.Lang, err error) string {
	return mamori.Localize(err, func(f string, a ...any) string { return i18n.T(lang, f, a...) })
}
