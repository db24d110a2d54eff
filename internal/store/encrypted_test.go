package store_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mamori-dev/mamori/internal/store"
)

// notColumns are places values are sealed for that are not database
// columns (so key rotation does not re-wrap them in the database).
var notColumns = map[string]string{
	"backup.key": "the key of a backup, sealed into the backup file's header",
}

// TestEveryEncryptedColumnIsRegistered finds every Seal(plaintext, "table",
// "column", row) call in the module and fails for a place that is not in
// store.EncryptedColumns: a column missing there would be skipped by key
// rotation and by the restore checks.
func TestEveryEncryptedColumnIsRegistered(t *testing.T) {
	registered := map[string]bool{}
	for _, c := range store.EncryptedColumns() {
		registered[c.Name()] = true
	}
	found := map[string]string{}
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || (strings.HasPrefix(n, ".") && path != root) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.Contains(path, "mamoritest") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 4 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Seal" {
				return true
			}
			table, ok1 := call.Args[1].(*ast.BasicLit)
			column, ok2 := call.Args[2].(*ast.BasicLit)
			if !ok1 || !ok2 {
				t.Errorf("%s: Seal with a table or column that is not a literal: the registry test cannot follow it", path)
				return true
			}
			tv, _ := strconv.Unquote(table.Value)
			cv, _ := strconv.Unquote(column.Value)
			found[tv+"."+cv] = path
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) < 3 {
		t.Fatalf("found only %v: the scan is broken", found)
	}
	for place, where := range found {
		if !registered[place] && notColumns[place] == "" {
			t.Errorf("%s is sealed in %s but is not in store.EncryptedColumns", place, where)
		}
	}
}
