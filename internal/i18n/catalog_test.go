package i18n_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/mamori-dev/mamori/internal/i18n"
)

// TestEveryMessageTranslated finds the user-facing English texts of mamori
// (template {{t "…"}} calls, and the messages of application errors, field
// errors, page titles and labels in Go code) and fails for each one without
// a Japanese translation: every screen and message exists in both languages.
func TestEveryMessageTranslated(t *testing.T) {
	keys := map[string]string{} // key → where found
	root := filepath.Join("..", "..")
	tmplRE := regexp.MustCompile(`\{\{-?\s*t\s+"((?:[^"\\]|\\.)*)"`)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == "testdata" || name == "node_modules" || strings.HasPrefix(name, ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case strings.HasSuffix(path, ".html"):
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range tmplRE.FindAllStringSubmatch(string(b), -1) {
				s, err := strconv.Unquote(`"` + m[1] + `"`)
				if err != nil {
					t.Errorf("%s: bad literal %q", path, m[1])
					continue
				}
				keys[s] = path
			}
		case strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") && !operatorOnly(path):
			for k := range goMessages(t, path) {
				keys[k] = path
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Texts chosen at run time: states, outcomes and kinds shown through
	// {{t .Status}} and the like.
	for _, k := range dynamicKeys {
		keys[k] = "dynamic"
	}
	var missing []string
	for k, where := range keys {
		if !i18n.Has(i18n.Japanese, k) || i18n.T(i18n.Japanese, k) == "" {
			missing = append(missing, strconv.Quote(k)+"  ("+where+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d messages have no Japanese translation in internal/i18n/ja.json:\n%s", len(missing), strings.Join(missing, "\n"))
	}
	if testing.Verbose() {
		t.Logf("%d user-facing messages checked", len(keys))
	}
}

// operatorOnly says whether a Go file speaks only to the operator at the
// command line (in English), never to users of the web UI or API.
func operatorOnly(path string) bool {
	p := filepath.ToSlash(path)
	for _, dir := range []string{"/internal/cli/", "/internal/config/", "/internal/envelope/", "/cmd/"} {
		if strings.Contains(p, dir) {
			return true
		}
	}
	return false
}

var verbRE = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z]`)

var dynamicKeys = []string{
	"active", "disabled", "deleted",
	"pending", "approved", "rejected", "withdrawn", "expired",
	// Catalogs and assessments: applicability scopes, mapping
	// relationships, approval kinds, record types, evidence kinds, review
	// states, history details and notification subjects.
	"only", "clause", "equal", "subset", "superset", "intersect",
	"assessment.risk_acceptance", "assessment.exclusion",
	"assessment", "assessment_item", "assessment_task", "approval", "catalog", "system", "asset", "sbom",
	"vulnerability", "finding", "incident", "third_party", "report", "access_review",
	"file", "url", "record", "agreed", "challenged", "review reset", "import",
	"A recurring obligation is due soon.", "A recurring obligation is overdue.", "A remediation task is overdue.",
	"A risk acceptance has expired; the item is open again.", "An exclusion has expired; the item is back in scope.",
	"scheduled", "manual", // backup kinds
}

// goMessages returns the string literals in user-facing positions of a Go
// file: the message of mamori.Errorf / Invalid / Wrap, the reason of
// FieldErrors.Add, the title of a page render, and composite-literal fields
// named Title, Label, Summary, Description or Message.
func goMessages(t *testing.T, path string) map[string]bool {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	out := map[string]bool{}
	lit := func(e ast.Expr) {
		if bl, ok := e.(*ast.BasicLit); ok && bl.Kind == token.STRING {
			if s, err := strconv.Unquote(bl.Value); err == nil && strings.ContainsFunc(verbRE.ReplaceAllString(s, ""), unicode.IsLetter) {
				out[s] = true
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.CallExpr:
			sel, ok := x.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			name := sel.Sel.Name
			pkg := ""
			if id, ok := sel.X.(*ast.Ident); ok {
				pkg = id.Name
			}
			switch {
			case pkg == "mamori" && name == "Errorf" && len(x.Args) >= 2:
				lit(x.Args[1])
			case pkg == "mamori" && name == "Invalid" && len(x.Args) == 2:
				lit(x.Args[1])
			case pkg == "mamori" && name == "Wrap" && len(x.Args) == 3:
				lit(x.Args[2])
			case (name == "Add" || name == "Addf") && len(x.Args) == 2:
				lit(x.Args[1])
			case (name == "page" || name == "formError") && len(x.Args) >= 4:
				lit(x.Args[3])
			}
		case *ast.KeyValueExpr:
			if k, ok := x.Key.(*ast.Ident); ok {
				switch k.Name {
				case "Title", "Label", "Summary", "Description", "Message":
					lit(x.Value)
				}
			}
		case *ast.CompositeLit:
			// Rows of the navigation, module and role tables are positional.
			at, ok := x.Type.(*ast.ArrayType)
			if !ok {
				return true
			}
			id, ok := at.Elt.(*ast.Ident)
			if !ok {
				return true
			}
			positions := map[string][]int{"navItem": {2}, "moduleInfo": {2, 3}, "Role": {4}}[id.Name]
			for _, e := range x.Elts {
				row, ok := e.(*ast.CompositeLit)
				if !ok {
					continue
				}
				for _, i := range positions {
					if i-1 < len(row.Elts) {
						lit(row.Elts[i-1])
					}
				}
			}
		case *ast.ValueSpec:
			// Message tables: every string value of these maps is shown.
			for i, name := range x.Names {
				if (name.Name == "flashMessages" || name.Name == "defaultMessages") && i < len(x.Values) {
					if cl, ok := x.Values[i].(*ast.CompositeLit); ok {
						for _, e := range cl.Elts {
							if kv, ok := e.(*ast.KeyValueExpr); ok {
								lit(kv.Value)
							}
						}
					}
				}
			}
		}
		return true
	})
	return out
}
