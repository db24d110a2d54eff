package web

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
)

// openAPIDocument builds the OpenAPI 3.1 document from the route table, so
// the document and the real routes cannot drift apart.
func (s *Server) openAPIDocument() ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}}
	g.defs["Error"] = g.schema(reflect.TypeOf(apiError{}))
	paths := map[string]map[string]any{}
	for _, rt := range s.routes {
		if rt.Kind != KindAPI {
			continue
		}
		p := openAPIPath(rt.Pattern)
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		op := map[string]any{
			"operationId":         rt.Doc.ID,
			"summary":             rt.Doc.Summary,
			"tags":                []string{rt.Doc.Tag},
			"x-mamori-permission": string(rt.Perm),
			"responses":           g.responses(rt),
		}
		if rt.Perm == mamori.Public {
			op["security"] = []any{}
		}
		var params []any
		for _, name := range pathParams(rt.Pattern) {
			params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range rt.Doc.Query {
			params = append(params, map[string]any{"name": q.Name, "in": "query", "required": false,
				"description": q.Description, "schema": map[string]any{"type": q.Type}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.Doc.In != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(rt.Doc.In))}}}
		}
		paths[p][strings.ToLower(rt.Method)] = op
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "mamori REST API",
			"version": "1",
			"summary": "Cybersecurity management for financial institutions.",
			"description": "Every request needs an API token (Authorization: Bearer mamori_…), created on the account page. " +
				"Read-scoped tokens cannot change data. Errors have the shape {\"error\":{\"code\",\"message\",\"fields\"}}.",
			"license": map[string]any{"name": "Apache-2.0", "identifier": "Apache-2.0"},
		},
		"servers": []any{map[string]any{"url": s.cfg.BaseURL}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": g.defs,
			"securitySchemes": map[string]any{
				"bearerAuth": map[string]any{"type": "http", "scheme": "bearer", "description": "An API token created on the account page."},
			},
		},
		"security": []any{map[string]any{"bearerAuth": []string{}}},
	}
	return json.MarshalIndent(doc, "", "  ")
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(s.openapi)
}

var pathParamRE = regexp.MustCompile(`\{([A-Za-z0-9_]+)(\.\.\.)?\}`)

func openAPIPath(pattern string) string { return pathParamRE.ReplaceAllString(pattern, "{$1}") }

func pathParams(pattern string) []string {
	var out []string
	for _, m := range pathParamRE.FindAllStringSubmatch(pattern, -1) {
		out = append(out, m[1])
	}
	return out
}

func (g *schemaGen) responses(rt Route) map[string]any {
	status := rt.Doc.Status
	if status == 0 {
		status = http.StatusOK
	}
	ok := map[string]any{"description": http.StatusText(status)}
	if rt.Doc.Out != nil {
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(rt.Doc.Out))}}
	}
	errResp := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": map[string]any{
			"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
	}
	out := map[string]any{strconv.Itoa(status): ok}
	if rt.Perm != mamori.Public {
		out["401"] = errResp("No valid API token.")
		out["403"] = errResp("The token's user lacks the permission " + string(rt.Perm) + ".")
	}
	if rt.Doc.In != nil || rt.Method != http.MethodGet {
		out["422"] = errResp("Invalid input; fields names each problem.")
	}
	if len(pathParams(rt.Pattern)) > 0 {
		out["404"] = errResp("Not found.")
	}
	return out
}

// schemaGen turns Go types into JSON Schema (2020-12, as OpenAPI 3.1 uses),
// collecting named structs under components/schemas.
type schemaGen struct {
	defs map[string]any
}

var timeType = reflect.TypeOf(time.Time{})

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.Pointer:
		s := g.schema(t.Elem())
		return map[string]any{"oneOf": []any{s, map[string]any{"type": "null"}}}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := schemaName(t)
		if name != "" {
			if _, ok := g.defs[name]; !ok {
				g.defs[name] = map[string]any{} // break recursion
				g.defs[name] = g.object(t)
			}
			return map[string]any{"$ref": "#/components/schemas/" + name}
		}
		return g.object(t)
	}
	return map[string]any{}
}

func schemaName(t reflect.Type) string {
	base, arg, generic := strings.Cut(t.Name(), "[")
	if !generic {
		return base
	}
	// Page[….apiUser] becomes PageOfApiUser.
	arg = strings.TrimSuffix(arg, "]")
	if i := strings.LastIndex(arg, "."); i >= 0 {
		arg = arg[i+1:]
	}
	if arg == "" {
		return base
	}
	return base + "Of" + strings.ToUpper(arg[:1]) + arg[1:]
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			inner := g.object(f.Type)
			for k, v := range inner["properties"].(map[string]any) {
				props[k] = v
			}
			continue
		}
		sch := g.schema(f.Type)
		if d := f.Tag.Get("doc"); d != "" {
			sch = map[string]any{"allOf": []any{sch}, "description": d}
		}
		props[name] = sch
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			required = append(required, name)
		}
	}
	sort.Strings(required)
	out := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}
