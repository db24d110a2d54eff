package web_test

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/auth"
	"github.com/mamori-dev/mamori/internal/mamoritest"
	"github.com/mamori-dev/mamori/internal/store"
	"github.com/mamori-dev/mamori/internal/web"
)

var update = flag.Bool("update", false, "rewrite generated documentation (docs/authz-matrix.md)")

// TestAuthorizationMatrix sends a real request to every route of the route
// table as anonymous and as a user of every role, and checks the answer
// against the role table: allowed roles get through (whatever the handler
// then says about the made-up input), the others are refused, and a refused
// request changes nothing in the database.
func TestAuthorizationMatrix(t *testing.T) {
	for _, d := range mamoritest.Dialects() {
		t.Run(string(d), func(t *testing.T) { testMatrix(t, d) })
	}
}

type caller struct {
	name  string
	user  *auth.User
	perms map[mamori.Permission]bool
}

func testMatrix(t *testing.T, d store.Dialect) {
	e := mamoritest.NewEnv(t, d)
	callers := []caller{{name: "anonymous"}}
	for _, r := range auth.Roles() {
		u := e.User(r.ID+"@example.jp", true, r.ID)
		callers = append(callers, caller{name: r.ID, user: u, perms: auth.PermsOf([]string{r.ID})})
	}
	tokens := map[string]string{}
	for _, c := range callers[1:] {
		tokens[c.name] = e.Token(c.user, "write")
	}
	matrix := map[string]map[string]bool{}
	var rows []string
	for _, rt := range e.Server.Routes() {
		key := rt.Method + " " + rt.Pattern
		rows = append(rows, key)
		matrix[key] = map[string]bool{}
		path := concretePath(rt.Pattern)
		for _, c := range callers {
			want := c.name != "anonymous" && (rt.Perm == mamori.Authenticated || c.perms[rt.Perm]) || rt.Perm == mamori.Public
			matrix[key][c.name] = want
			// Only refusals must leave the database as it was; counting
			// every table costs time, so it is done for them alone.
			var before string
			if !want {
				before = fingerprint(t, e)
			}
			status, refusal := send(t, e, rt, path, c, tokens[c.name])
			denied := refusal == "unauthenticated" || refusal == "permission"
			if refusal == "csrf" || refusal == "restricted" || refusal == "step-up" {
				t.Errorf("%s as %s: refused for %s, which the test should have satisfied", key, c.name, refusal)
			}
			switch {
			case want && denied:
				t.Errorf("%s as %s: refused (status %d, %s), but the role holds %s", key, c.name, status, refusal, rt.Perm)
			case !want && !denied:
				t.Errorf("%s as %s: allowed (status %d), but the role lacks %s", key, c.name, status, rt.Perm)
			}
			if !want {
				if after := fingerprint(t, e); after != before {
					t.Errorf("%s as %s: refused, but the database changed:\n before %s\n after  %s", key, c.name, before, after)
				}
			}
		}
	}
	if d == store.SQLite {
		writeMatrixDoc(t, e, callers, rows, matrix)
	}
}

// concretePath fills path parameters with a well-formed ID that exists
// nowhere: allowed callers then get 404 or a refused form, never a change.
func concretePath(pattern string) string {
	p := strings.ReplaceAll(pattern, "{$}", "")
	for {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			return p
		}
		j := strings.IndexByte(p[i:], '}')
		name := p[i+1 : i+j]
		val := "01890000-0000-7000-8000-000000000000"
		if strings.HasSuffix(name, "...") {
			val = "app.css"
		}
		p = p[:i] + val + p[i+j+1:]
	}
}

func send(t *testing.T, e *mamoritest.Env, rt web.Route, path string, c caller, token string) (int, string) {
	t.Helper()
	body := strings.NewReader("")
	req, _ := http.NewRequest(rt.Method, e.URL+path, body)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", e.URL)
	if c.user == nil && rt.Kind == web.KindPage {
		// An anonymous browser has the anonymous CSRF cookie of a form.
		req.Header.Set("Cookie", "mamori_csrf="+anonCSRF)
		req.Header.Set("X-CSRF-Token", anonCSRF)
	}
	if c.user != nil {
		switch rt.Kind {
		case web.KindPage:
			// A fresh session per request: a route may end its own session.
			sess, csrf := e.Session(c.user)
			req.Header.Set("Cookie", mamoritest.SessionCookieName+"="+sess)
			req.Header.Set("X-CSRF-Token", csrf)
		default:
			req.Header.Set("Authorization", "Bearer "+token)
		}
	}
	if rt.Method == http.MethodPost {
		if rt.Kind == web.KindAPI {
			req.Header.Set("Content-Type", "application/json")
		} else {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	refusal := res.Header.Get(web.RefusalHeader)
	if refusal != "" && res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusSeeOther {
		t.Errorf("%s %s: refusal %q with status %d", rt.Method, path, refusal, res.StatusCode)
	}
	return res.StatusCode, refusal
}

const anonCSRF = "0123456789abcdef0123456789abcdef0123456789abcdef"

// fingerprint summarises every table's row count and the audit trail size.
func fingerprint(t *testing.T, e *mamoritest.Env) string {
	t.Helper()
	counts, err := e.DB.TableCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		// Sessions are what the test itself creates per request.
		if k == "sessions" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%d ", k, counts[k])
	}
	return b.String()
}

func writeMatrixDoc(t *testing.T, e *mamoritest.Env, callers []caller, rows []string, m map[string]map[string]bool) {
	var b strings.Builder
	b.WriteString("# Authorization matrix\n\n")
	b.WriteString("Generated by `go test ./internal/web -run TestAuthorizationMatrix -update` from the route table\n")
	b.WriteString("(`internal/web/table.go`) and the role table (`internal/auth/roles.go`). The test sends a real\n")
	b.WriteString("request for every cell and checks it: ● allowed, – refused (and nothing changes). Do not edit by hand.\n\n")
	b.WriteString("| route | permission |")
	for _, c := range callers {
		b.WriteString(" " + c.name + " |")
	}
	b.WriteString("\n| --- | --- |" + strings.Repeat(" :-: |", len(callers)) + "\n")
	perms := map[string]string{}
	for _, rt := range e.Server.Routes() {
		perms[rt.Method+" "+rt.Pattern] = string(rt.Perm)
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "| `%s` | %s |", strings.ReplaceAll(r, "|", `\|`), perms[r])
		for _, c := range callers {
			if m[r][c.name] {
				b.WriteString(" ● |")
			} else {
				b.WriteString(" – |")
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n## Roles\n\n")
	for _, r := range auth.Roles() {
		var ps []string
		for _, p := range r.Perms {
			ps = append(ps, "`"+string(p)+"`")
		}
		fmt.Fprintf(&b, "- **%s** (%s / %s): %s Permissions: %s.\n", r.ID, r.NameJA, r.NameEN, r.Description, strings.Join(ps, ", "))
	}
	path := filepath.Join("..", "..", "docs", "authz-matrix.md")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	cur, err := os.ReadFile(path)
	if err != nil || string(cur) != b.String() {
		t.Errorf("docs/authz-matrix.md is stale: run go test ./internal/web -run TestAuthorizationMatrix -update")
	}
}
