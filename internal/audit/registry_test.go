package audit_test

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mamori-dev/mamori/internal/audit"
)

var update = flag.Bool("update", false, "rewrite docs/audit-events.md from the registry")

var docPath = filepath.Join("..", "..", "docs", "audit-events.md")

// eventsMarkdown is docs/audit-events.md, generated from the registry.
func eventsMarkdown() string {
	var b strings.Builder
	b.WriteString(`# Audit events

<!-- Generated from internal/audit/types.go by TestAuditEventsDocumented; do not edit.
     Run: go test ./internal/audit -run TestAuditEventsDocumented -update -->

Every state change and security event in mamori is written to the audit trail as a typed event, in
the same database transaction as the change it records. Each event has a **type** (what happened)
and a stable **code**: ` + "`M`" + ` + four digits (the first is the area) + ` + "`I`" + ` (information), ` + "`W`" + `
(warning: a failure or a refusal) or ` + "`E`" + ` (error). Codes never change when a type is renamed;
filter and alert on them. Details record the names of changed fields and other context, never
passwords, secrets, tokens or personal values.

Events are the leaves of an RFC 6962 Merkle tree, in the order of their sequence number ` + "`seq`" + `
(the leaf index). The leaf data is this JSON object, with the keys in this order, and the leaf
hash is SHA-256(0x00 ‖ leaf data):

` + "```json" + `
{"v":1,"seq":0,"id":"…","time":"2006-01-02T15:04:05.000000Z","type":"…","code":"…","actor":"…",
 "remote_addr":"…","request_id":"…","target_type":"…","target_id":"…","outcome":"success","details":"{…}"}
` + "```" + `

` + "`details`" + ` is the stored JSON text of the details, as a string. ` + "`actor`" + ` is a user ID, ` + "`system`" + ` for
mamori itself, or empty. ` + "`outcome`" + ` is ` + "`success`" + `, ` + "`failure`" + ` or ` + "`denied`" + `.
`)
	area := ""
	for _, d := range audit.Definitions() {
		if d.Area != area {
			area = d.Area
			fmt.Fprintf(&b, "\n## %s\n\n| code | type | meaning |\n| --- | --- | --- |\n", strings.ToUpper(area[:1])+area[1:])
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s |\n", d.Code, d.Type, d.Summary)
	}
	return b.String()
}

// TestAuditEventsDocumented keeps docs/audit-events.md equal to the
// registry: it fails when the file is stale.
func TestAuditEventsDocumented(t *testing.T) {
	want := eventsMarkdown()
	if *update {
		if err := os.WriteFile(docPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatalf("%v (run: go test ./internal/audit -run TestAuditEventsDocumented -update)", err)
	}
	if string(got) != want {
		t.Fatal("docs/audit-events.md is stale: run go test ./internal/audit -run TestAuditEventsDocumented -update")
	}
	for _, d := range audit.Definitions() {
		if !strings.Contains(string(got), "`"+string(d.Type)+"`") {
			t.Errorf("%s is not documented", d.Type)
		}
	}
}

var codeRE = regexp.MustCompile(`^M[1-9]\d{3}[IWE]$`)

func TestRegistryIsConsistent(t *testing.T) {
	codes, types := map[string]audit.Type{}, map[audit.Type]bool{}
	for _, d := range audit.Definitions() {
		if !codeRE.MatchString(d.Code) {
			t.Errorf("%s: code %q is not M + four digits + I, W or E", d.Type, d.Code)
		}
		if other, dup := codes[d.Code]; dup {
			t.Errorf("code %s is used by %s and %s", d.Code, other, d.Type)
		}
		if types[d.Type] {
			t.Errorf("type %s is registered twice", d.Type)
		}
		codes[d.Code], types[d.Type] = d.Type, true
		if d.Summary == "" || d.Area == "" || !strings.HasSuffix(d.Summary, ".") {
			t.Errorf("%s: needs an area and a one-sentence summary", d.Type)
		}
	}
}

// TestEveryUsedEventTypeIsRegistered finds every event type the code uses:
// each constant of type audit.Type (wherever it is referenced) and each
// conversion audit.Type("…") anywhere in the module, and fails for one that
// is not in the registry (and so not in docs/audit-events.md).
func TestEveryUsedEventTypeIsRegistered(t *testing.T) {
	consts := typeConstants(t)
	if len(consts) < 30 {
		t.Fatalf("found only %d audit.Type constants: the scan is broken", len(consts))
	}
	used := map[string]string{} // type value → where
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || n == "node_modules" || (strings.HasPrefix(n, ".") && path != root) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		inAudit := f.Name.Name == "audit"
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.SelectorExpr:
				if id, ok := x.X.(*ast.Ident); ok && id.Name == "audit" {
					if v, ok := consts[x.Sel.Name]; ok {
						used[v] = path
					}
				}
			case *ast.Ident:
				if inAudit {
					if v, ok := consts[x.Name]; ok {
						used[v] = path
					}
				}
			case *ast.CallExpr:
				// audit.Type("x.y") or Type("x.y") inside the package.
				isConv := false
				if sel, ok := x.Fun.(*ast.SelectorExpr); ok {
					if id, ok := sel.X.(*ast.Ident); ok && id.Name == "audit" && sel.Sel.Name == "Type" {
						isConv = true
					}
				} else if id, ok := x.Fun.(*ast.Ident); ok && inAudit && id.Name == "Type" {
					isConv = true
				}
				if isConv && len(x.Args) == 1 {
					if bl, ok := x.Args[0].(*ast.BasicLit); ok && bl.Kind == token.STRING {
						if s, err := strconv.Unquote(bl.Value); err == nil {
							used[s] = path
						}
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for v, where := range used {
		if _, ok := audit.Lookup(audit.Type(v)); !ok {
			t.Errorf("event type %q (used in %s) is not registered in internal/audit/types.go", v, where)
		}
	}
	for name, v := range consts {
		if _, ok := audit.Lookup(audit.Type(v)); !ok {
			t.Errorf("constant %s = %q is not registered", name, v)
		}
	}
}

// typeConstants reads the constants of type Type declared in the package.
func typeConstants(t *testing.T) map[string]string {
	out := map[string]string{}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range files {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				id, ok := vs.Type.(*ast.Ident)
				if !ok || id.Name != "Type" {
					continue
				}
				for i, name := range vs.Names {
					if bl, ok := vs.Values[i].(*ast.BasicLit); ok {
						s, _ := strconv.Unquote(bl.Value)
						out[name.Name] = s
					}
				}
			}
		}
	}
	return out
}
