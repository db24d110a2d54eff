package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/mamori-dev/mamori"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// decodeJSON reads one JSON object into v, refusing unknown fields and
// trailing data, and naming the field at fault.
func decodeJSON(r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, "application/json") {
		return mamori.Invalid("Content-Type", "Send application/json.")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		err = decodeErr(err)
		if mamori.ErrorCode(err) == mamori.ETOOLARGE {
			return err
		}
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return mamori.Invalid(te.Field, fmt.Sprintf("Must be of type %s.", te.Type))
		case errors.As(err, &se):
			return mamori.Invalid("body", fmt.Sprintf("The JSON is malformed at byte %d.", se.Offset))
		case errors.Is(err, io.EOF):
			return mamori.Invalid("body", "The request body is empty.")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return mamori.Invalid(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "Unknown field.")
		}
		return mamori.Invalid("body", "The JSON could not be read.")
	}
	if dec.More() {
		return mamori.Invalid("body", "Send exactly one JSON object.")
	}
	return nil
}

// Page is the envelope of a paginated list.
type Page[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// pagination reads limit and offset with bounds.
func pagination(r *http.Request) (limit, offset int) {
	limit = atoiDefault(r.URL.Query().Get("limit"), 50)
	offset = atoiDefault(r.URL.Query().Get("offset"), 0)
	return min(max(limit, 1), 500), max(offset, 0)
}
