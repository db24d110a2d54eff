package mamori_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/mamori-dev/mamori"

// forbidden lists, per package (path relative to the module), imports it
// must not have: dependencies point inward to the domain.
var forbidden = map[string][]string{
	"":                  {module + "/internal/", "database/sql", "net/http"},
	"internal/audit":    {module + "/internal/store", module + "/internal/web", module + "/internal/cli", "database/sql", "net/http"},
	"internal/auth":     {module + "/internal/store", module + "/internal/web", module + "/internal/cli", module + "/internal/config", "database/sql", "net/http"},
	"internal/envelope": {module + "/internal/", "database/sql", "net/http"},
	"internal/i18n":     {module + "/internal/", "database/sql", "net/http"},
	"internal/config":   {module + "/internal/", "database/sql", "net/http"},
	"internal/store":    {module + "/internal/web", module + "/internal/cli", "net/http"},
	"internal/web":      {module + "/internal/store", module + "/internal/cli", "database/sql"},
	"internal/mail":     {module + "/internal/", "database/sql", "net/http"},
	"internal/webhook":  {module + "/internal/store", module + "/internal/web", module + "/internal/cli", "database/sql"},
}

// domainPackages never import the adapters; checked for every package
// under internal/ that is not an adapter.
var adapters = map[string]bool{"store": true, "web": true, "cli": true, "mamoritest": true, "format": true, "config": true, "mail": true, "webhook": true}

func TestImportRules(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == "testdata" || (strings.HasPrefix(name, ".") && path != ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		if dir == "." {
			dir = ""
		}
		rules := forbidden[dir]
		if parts := strings.Split(dir, "/"); len(parts) >= 2 && parts[0] == "internal" && !adapters[parts[1]] && rules == nil {
			rules = []string{module + "/internal/store", module + "/internal/web", module + "/internal/cli", "database/sql", "net/http"}
		}
		if strings.HasPrefix(dir, "internal/format/") {
			rules = []string{module + "/internal/store", module + "/internal/web", module + "/internal/cli", "database/sql"}
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			for _, bad := range rules {
				if p == bad || (strings.HasSuffix(bad, "/") && strings.HasPrefix(p, bad)) {
					t.Errorf("%s imports %s: forbidden for package %q", path, p, dir)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
