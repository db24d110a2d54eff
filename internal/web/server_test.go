package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/mamoritest"
	"github.com/mamori-dev/mamori/internal/store"
	"github.com/mamori-dev/mamori/internal/web"
)

func get(t *testing.T, url string, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

func TestSecurityHeadersOnEveryKindOfResponse(t *testing.T) {
	e := mamoritest.NewEnv(t, store.SQLite)
	u := e.User("ciso@example.jp", true, "security_manager")
	tok, _ := e.Session(u)
	cookie := map[string]string{"Cookie": mamoritest.SessionCookieName + "=" + tok}
	for _, tc := range []struct {
		name, path string
		hdr        map[string]string
		status     int
		noStore    bool
	}{
		{"sign-in page", "/sign-in", nil, 200, true},
		{"dashboard signed in", "/", cookie, 200, true},
		{"redirect to sign-in", "/assets", nil, 303, false},
		{"not found page", "/no-such-page", nil, 404, true},
		{"api without token", "/api/v1/me", nil, 401, true},
		{"api not found", "/api/v1/nothing", nil, 404, false},
		{"health", "/healthz", nil, 200, true},
		{"static", "/static/app.css", nil, 200, false},
		{"openapi", "/api/v1/openapi.json", nil, 200, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := get(t, e.URL+tc.path, tc.hdr)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			h := res.Header
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "script-src 'self'", "style-src 'self'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("CSP allows unsafe code: %q", csp)
			}
			for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
				if h.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, h.Get(k), v)
				}
			}
			if h.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
			if h.Get("Strict-Transport-Security") != "" {
				t.Error("HSTS sent over plain HTTP")
			}
			if tc.noStore && h.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", h.Get("Cache-Control"))
			}
		})
	}
}

func TestNoInlineScriptsOrStyles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("templates", "*.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ToLower(string(b))
		for _, bad := range []string{"<script>", "<style", " style=", " onclick=", " onload=", " onsubmit=", " onchange=", "javascript:"} {
			if strings.Contains(s, bad) {
				t.Errorf("%s contains %q: the CSP forbids inline code and styles", f, bad)
			}
		}
	}
}

func TestRouteWithoutPermissionStopsStartUp(t *testing.T) {
	e := mamoritest.NewEnv(t, store.SQLite)
	h := func(http.ResponseWriter, *http.Request) {}
	cases := map[string][]web.Route{
		"no permission":  {{Method: "GET", Pattern: "/x", Handler: h}},
		"duplicate":      {{Method: "GET", Pattern: "/x", Perm: mamori.Public, Handler: h}, {Method: "GET", Pattern: "/x", Perm: mamori.Public, Handler: h}},
		"undocumented":   {{Method: "GET", Pattern: "/api/v1/x", Perm: mamori.Public, Kind: web.KindAPI, Handler: h}},
		"api outside":    {{Method: "GET", Pattern: "/x", Perm: mamori.Public, Kind: web.KindAPI, Handler: h, Doc: &web.APIDoc{}}},
		"page under api": {{Method: "GET", Pattern: "/api/v1/x", Perm: mamori.Public, Kind: web.KindPage, Handler: h}},
	}
	for name, routes := range cases {
		if err := e.Server.RegisterForTest(routes); err == nil {
			t.Errorf("%s: registered", name)
		}
	}
	if err := e.Server.RegisterForTest([]web.Route{{Method: "GET", Pattern: "/x", Perm: mamori.Public, Handler: h}}); err != nil {
		t.Errorf("a correct route was refused: %v", err)
	}
}

func TestOpenAPIDocument(t *testing.T) {
	e := mamoritest.NewEnv(t, store.SQLite)
	res, err := http.Get(e.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()

	// Valid OpenAPI 3.1, checked with the official schema.
	c := jsonschema.NewCompiler()
	for _, f := range []struct{ file, id string }{
		{"schema.json", "https://spec.openapis.org/oas/3.1/schema/2021-04-15"},
		{"schema-base.json", "https://spec.openapis.org/oas/3.1/schema-base/2021-04-15"},
		{"dialect-base.schema.json", "https://spec.openapis.org/oas/3.1/dialect/base"},
		{"meta-base.schema.json", "https://spec.openapis.org/oas/3.1/meta/base"},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", "openapi-3.1", f.file))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(f.id, doc); err != nil {
			t.Fatal(err)
		}
	}
	sch, err := c.Compile("https://spec.openapis.org/oas/3.1/schema-base/2021-04-15")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("openapi.json is not valid OpenAPI 3.1: %v", err)
	}

	// It documents exactly the API routes of the route table.
	var doc struct {
		Paths map[string]map[string]struct {
			Permission string `json:"x-mamori-permission"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, rt := range e.Server.Routes() {
		if rt.Kind == web.KindAPI {
			want[strings.ToLower(rt.Method)+" "+strings.ReplaceAll(rt.Pattern, "...", "")] = string(rt.Perm)
		}
	}
	got := map[string]string{}
	for p, ops := range doc.Paths {
		for m, op := range ops {
			got[m+" "+p] = op.Permission
		}
	}
	for k, perm := range want {
		if got[k] != perm {
			t.Errorf("route %s (permission %s) documented as %q", k, perm, got[k])
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("openapi.json documents %s, which is not in the route table", k)
		}
	}
}

func TestEveryPageRendersInBothLanguages(t *testing.T) {
	e := mamoritest.NewEnv(t, store.SQLite)
	u := e.User("admin@example.jp", true, "admin", "security_manager")
	tok, _ := e.Session(u)
	for _, lang := range []string{"ja", "en"} {
		for _, rt := range e.Server.Routes() {
			if rt.Kind != web.KindPage || rt.Method != http.MethodGet || strings.Contains(rt.Pattern, "{") {
				continue
			}
			path := strings.TrimSuffix(rt.Pattern, "{$}")
			res := get(t, e.URL+path, map[string]string{"Cookie": mamoritest.SessionCookieName + "=" + tok + "; mamori_lang=" + lang})
			if res.StatusCode >= 500 {
				t.Errorf("%s %s in %s: status %d", rt.Method, path, lang, res.StatusCode)
			}
		}
	}
}
