package pdf_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/format/pdf"
)

// report builds the report of a full FSA guideline assessment with every
// status, evidence, tasks and text the font lacks.
func report(t testing.TB) *control.Report {
	t.Helper()
	lib, err := control.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	c, err := lib.Catalog("fsa-csgl")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 1, 3, 0, 0, 0, time.UTC)
	owner := control.Person{ID: "01890000-0000-7000-8000-00000000000a", Email: "owner@example.jp", DisplayName: "システム所管 鈴木", Active: true}
	a := &control.Assessment{ID: "01890000-0000-7000-8000-000000000001", Title: "2026年度 サイバーセキュリティ自己評価（全社）",
		CatalogKey: c.Key(), Profile: control.ProfileBasicDesirable, Scope: []control.ScopeEntry{{Kind: control.ScopeOrganisation}},
		PeriodStart: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), PeriodEnd: time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC),
		State: control.StateSignedOff, SignedOffBy: owner.ID, SignedOffAt: now}
	snap := &control.Snapshot{Assessment: a, Catalog: c, People: map[string]control.Person{owner.ID: owner}, Now: now}
	statuses := control.ItemStatuses
	for i, n := range c.Items() {
		it := &control.Item{ID: "row-" + n.ID, AssessmentID: a.ID, NodeID: n.ID, Status: statuses[i%len(statuses)], OwnerID: owner.ID,
			Explanation: "取締役会で承認した基本方針に基づき対応している。😀 emoji と\x01制御文字を含む。"}
		switch it.Status {
		case control.ItemPlanned:
			it.TargetDate = time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
		case control.ItemNotApplicable:
			it.Rationale = "該当する業務がない。"
		case control.ItemRiskAccepted:
			it.AcceptReason, it.AcceptUntil = "代替策あり", time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC)
			it.AcceptApproval = control.ApprovalRef{ID: "ap", Status: "approved", ExpiresAt: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}
		}
		if i == 3 {
			it.Explanation = strings.Repeat("非常に長い説明文。", 400)
		}
		snap.Items = append(snap.Items, it)
		if i%5 == 0 {
			snap.Evidence = append(snap.Evidence, &control.Evidence{ID: "e" + n.ID, ItemID: it.ID, Kind: control.EvidenceURL, Title: "規程"})
		}
	}
	snap.Tasks = []*control.Task{{ID: "t1", AssessmentID: a.ID, ItemID: "row-FSA-CSGL-2.2.3-B03", Title: "旧VPN装置の更改",
		OwnerID: owner.ID, DueDate: time.Date(2026, 5, 31, 0, 0, 0, 0, time.UTC), State: control.TaskOpen}}
	return snap.Report()
}

func TestRenderJapanese(t *testing.T) {
	var buf bytes.Buffer
	if err := pdf.Render(&buf, report(t), "ja", pdf.Options{}); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if !bytes.HasPrefix(data, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", data[:20])
	}
	// The font is embedded as a subset, not whole (6 MB).
	if len(data) > 1<<20 {
		t.Errorf("PDF is %d bytes; the font subset should keep it small", len(data))
	}
	text := pdfText(t, data)
	for _, want := range []string{
		"自己評価報告書",
		"2026年度 サイバーセキュリティ自己評価（全社）",
		"金融分野におけるサイバーセキュリティに関するガイドライン",
		"ガバナンス", // an area title
		"取締役会で承認した基本方針に基づき対応", // an explanation
		"旧VPN装置の更改", // a task
		"システム所管 鈴木", // an owner
		"期限超過",      // the overdue task
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF text lacks %q", want)
		}
	}
}

func TestRenderEnglishMasked(t *testing.T) {
	var buf bytes.Buffer
	if err := pdf.Render(&buf, report(t), "en", pdf.Options{Mask: true}); err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, buf.Bytes())
	for _, want := range []string{"Self-assessment report", "Gaps (by tier, due date and owner)", "***"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF text lacks %q", want)
		}
	}
	if strings.Contains(text, "鈴木") {
		t.Error("a masked report names the owner")
	}
}

// pdfText extracts the text with poppler's pdftotext. Without it the test
// is skipped, or fails where CI promises the tools (MAMORI_REQUIRE_BROWSER).
func pdfText(t *testing.T, data []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("MAMORI_REQUIRE_BROWSER") != "" {
			t.Fatal("pdftotext is required (MAMORI_REQUIRE_BROWSER is set) but not installed: run bash scripts/test-deps.sh")
		}
		t.Skip("pdftotext (poppler-utils) is not installed; bash scripts/test-deps.sh installs it")
	}
	in := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-enc", "UTF-8", in, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	// pdftotext breaks lines where the PDF does; join for searching.
	return strings.ReplaceAll(string(out), "\n", "")
}

func BenchmarkRender(b *testing.B) {
	rep := report(b)
	b.ReportAllocs()
	for b.Loop() {
		var buf bytes.Buffer
		if err := pdf.Render(&buf, rep, "ja", pdf.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
