package mamori

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Code classifies an application error. The web layer maps each code to an
// HTTP status in one table; the CLI maps them to exit codes.
type Code string

const (
	EINVALID         Code = "invalid"         // bad input; Fields says which and why
	ENOTFOUND        Code = "not_found"       // the thing does not exist (or is not visible)
	ECONFLICT        Code = "conflict"        // duplicate, still referenced, or stale state
	EUNAUTHENTICATED Code = "unauthenticated" // no valid credentials
	EFORBIDDEN       Code = "forbidden"       // authenticated but not allowed
	ERATELIMITED     Code = "rate_limited"    // throttled; retry later
	ETOOLARGE        Code = "too_large"       // request or file exceeds a limit
	EUNAVAILABLE     Code = "unavailable"     // a dependency is down; retry later
	ENOTIMPLEMENTED  Code = "not_implemented" // the feature is not available in this build or configuration
	EINTERNAL        Code = "internal"        // anything else; details are logged, never shown
)

// Error is the one application error type. Message and the Fields reasons
// are written for the user (in English; the i18n catalogs translate them by
// their English text). The wrapped cause is for logs only.
type Error struct {
	Code    Code
	Message string
	// Fields maps an input field (a form field, a JSON key path like
	// "items[3].status", or a "row 12, column C" location) to the reason it
	// was refused.
	Fields map[string]string
	cause  error
	// format and args keep the message's parts, so that it can be
	// translated before it is formatted (see Localize).
	format string
	args   []any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Fields) > 0 {
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i == 0 {
				b.WriteString(" (")
			} else {
				b.WriteString("; ")
			}
			b.WriteString(k)
			b.WriteString(": ")
			b.WriteString(e.Fields[k])
		}
		b.WriteString(")")
	}
	if e.cause != nil {
		b.WriteString(": ")
		b.WriteString(e.cause.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.cause }

// Errorf returns an application error with a user-facing message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), format: format, args: args}
}

// Localize returns the user-facing message of err in another language:
// translate gets the English format and its arguments (a translation
// catalog keyed by the English format, then fmt.Sprintf). Internal errors get
// the fixed internal message.
func Localize(err error, translate func(format string, args ...any) string) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL && e.format != "" && e.Message == fmt.Sprintf(e.format, e.args...) {
		return translate(e.format, e.args...)
	}
	return translate(ErrorMessage(err))
}

// Wrap returns an application error that keeps cause for the logs.
func Wrap(code Code, cause error, message string) *Error {
	return &Error{Code: code, Message: message, cause: cause}
}

// FieldErrors collects per-field validation problems; Err returns nil when
// there are none, else an EINVALID error naming every field.
type FieldErrors map[string]string

// Add records reason for field, keeping the first reason given for a field.
func (f FieldErrors) Add(field, reason string) {
	if _, ok := f[field]; !ok {
		f[field] = reason
	}
}

// Addf is Add with a formatted reason.
func (f FieldErrors) Addf(field, format string, args ...any) {
	f.Add(field, fmt.Sprintf(format, args...))
}

// Err returns the collected problems as one EINVALID error, or nil.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "Some fields are invalid.", Fields: map[string]string(f)}
}

// Invalid returns an EINVALID error for a single field.
func Invalid(field, reason string) *Error {
	return &Error{Code: EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{field: reason}}
}

// ErrorCode returns the code of the first application error in err's chain,
// EINTERNAL for any other error and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err. Internal errors get a
// fixed text so that no detail leaks to clients.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		if e.Message != "" {
			return e.Message
		}
		return defaultMessages[e.Code]
	}
	return defaultMessages[EINTERNAL]
}

// ErrorFields returns the per-field reasons of err, or nil.
func ErrorFields(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Fields
	}
	return nil
}

var defaultMessages = map[Code]string{
	EINVALID:         "Some fields are invalid.",
	ENOTFOUND:        "Not found.",
	ECONFLICT:        "The request conflicts with the current state.",
	EUNAUTHENTICATED: "Please sign in.",
	EFORBIDDEN:       "You do not have permission to do this.",
	ERATELIMITED:     "Too many attempts. Please wait and try again.",
	ETOOLARGE:        "The request is too large.",
	EUNAVAILABLE:     "The service is temporarily unavailable.",
	ENOTIMPLEMENTED:  "This feature is not available.",
	EINTERNAL:        "An internal error occurred.",
}
