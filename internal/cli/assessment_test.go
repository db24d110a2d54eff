package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/store"
)

func TestAssessmentCommands(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if r := runCLI(t, nil, "", "assessment", "list", "--data-dir", data); r.code != 1 || !strings.Contains(r.stderr, "no database") {
		t.Fatalf("list without a database: %d %s", r.code, r.stderr)
	}
	if r := runCLI(t, nil, "", "migrate", "up", "--data-dir", data); r.code != 0 {
		t.Fatalf("migrate: %s", r.stderr)
	}
	ctx := mamori.WithActor(context.Background(), mamori.SystemActor())
	db, err := store.Open(ctx, store.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	svc := control.NewService(db, nil, nil, nil, nil)
	a, err := svc.CreateAssessment(ctx, control.NewAssessment{Title: "注意喚起への回答", Catalog: "fsa-2022-advisory", Profile: control.ProfileBasic,
		Scope: control.ParseScope("組織全体"), PeriodStart: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), PeriodEnd: time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateItem(ctx, a.ID, "FSA-ADV2022-1a", 0, control.Answer{Status: control.ItemImplemented, Explanation: "TOTP と FIDO に対応。"}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	xlsx := filepath.Join(dir, "a.xlsx")
	pdfFile := filepath.Join(dir, "a.pdf")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"list", []string{"assessment", "list", "--data-dir", data}, 0, "注意喚起への回答", ""},
		{"list json", []string{"assessment", "list", "--json", "--data-dir", data}, 0, `"catalog": "fsa-2022-advisory@2022-03-01"`, ""},
		{"export xlsx", []string{"assessment", "export", a.ID, "--format", "xlsx", "--out", xlsx, "--data-dir", data}, 0, "", ""},
		{"export pdf", []string{"assessment", "export", a.ID, "--format", "pdf", "--out", pdfFile, "--data-dir", data}, 0, "", ""},
		{"export json", []string{"assessment", "export", a.ID, "--format", "json", "--data-dir", data}, 0, `"schema": "mamori.assessment/v1"`, ""},
		{"check sheet csv", []string{"assessment", "export", a.ID, "--format", "checksheet-csv", "--data-dir", data}, 0, "1-a,\"本人認証の強化", ""},
		{"check sheet en", []string{"assessment", "export", a.ID, "--format", "checksheet-csv", "--lang", "en", "--data-dir", data}, 0, "No.,Item,Answer,Explanation", ""},
		{"bad format", []string{"assessment", "export", a.ID, "--format", "docx", "--data-dir", data}, 2, "", "--format must be"},
		{"unknown id", []string{"assessment", "export", mamori.NewID(), "--data-dir", data}, 1, "", "not found"},
		{"import unchanged", []string{"assessment", "import", xlsx, "--data-dir", data}, 0, "Updated assessment " + a.ID, ""},
		{"import as new", []string{"assessment", "import", xlsx, "--as-new", "--data-dir", data}, 0, "Created assessment", ""},
		{"help", []string{"assessment"}, 2, "Subcommands:", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, nil, "", tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, tc.stdout) || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stdout %q / stderr %q lack %q / %q", r.stdout, r.stderr, tc.stdout, tc.stderr)
			}
		})
	}
	if b, err := os.ReadFile(pdfFile); err != nil || !strings.HasPrefix(string(b), "%PDF-") {
		t.Errorf("PDF file: %v", err)
	}
	// A malformed JSON export: every problem named, exit 2, nothing stored.
	r := runCLI(t, nil, "", "assessment", "export", a.ID, "--format", "json", "--data-dir", data)
	var wb control.Workbook
	if err := json.Unmarshal([]byte(r.stdout), &wb); err != nil {
		t.Fatal(err)
	}
	wb.Items[0].Status = "done"
	wb.Items[1].Owner = "nobody@example.jp"
	bad, _ := json.Marshal(wb)
	badFile := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(badFile, bad, 0o600)
	r = runCLI(t, nil, "", "assessment", "import", badFile, "--data-dir", data)
	if r.code != 2 || !strings.Contains(r.stderr, "items[0].status") || !strings.Contains(r.stderr, "items[1].owner") {
		t.Errorf("malformed import: %d %s", r.code, r.stderr)
	}
}
