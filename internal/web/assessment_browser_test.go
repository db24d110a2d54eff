package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mamori-dev/mamori/internal/auth"
	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/mamoritest"
	"github.com/mamori-dev/mamori/internal/store"
)

// TestAssessmentInRealBrowser walks the whole self-assessment in Debian's
// Chromium, by keyboard-reachable controls only: the CISO office creates an
// assessment of the 2022 advisory, answers every item, attaches evidence (a
// link and an uploaded file) and submits it; the risk manager (second line)
// reviews every answer and signs off; the report shows the result.
func TestAssessmentInRealBrowser(t *testing.T) {
	ctx := mamoritest.Chrome(t)
	e := mamoritest.NewEnv(t, store.SQLite)
	ciso := e.User("ciso@example.jp", true, auth.RoleSecurityManager)
	risk := e.User("risk@example.jp", true, auth.RoleRiskManager)
	flash := chromedp.CSS(".flash.ok")

	signIn := func(u *auth.User) {
		t.Helper()
		err := chromedp.Do(ctx,
			chromedp.Navigate(e.URL+"/sign-in"),
			chromedp.SendKeys(chromedp.CSS("#email"), u.Email),
			chromedp.SendKeys(chromedp.CSS("#password"), mamoritest.Password),
			chromedp.Submit(chromedp.CSS("#password")),
			chromedp.WaitVisible(chromedp.CSS("#code")),
			chromedp.SendKeys(chromedp.CSS("#code"), e.Code()),
			chromedp.Submit(chromedp.CSS("#code")),
			chromedp.WaitVisible(chromedp.CSS("#compliance")), // the dashboard's compliance panel
		)
		if err != nil {
			t.Fatalf("sign in as %s: %v", u.Email, err)
		}
	}

	// 1. Create the assessment.
	signIn(ciso)
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.URL+"/assessments"),
		chromedp.Click(chromedp.CSS(`a[href="/assessments/new"]`)),
		chromedp.WaitVisible(chromedp.CSS("#title")),
		chromedp.SendKeys(chromedp.CSS("#title"), "注意喚起（2022年3月）への対応状況"),
		chromedp.SetValue(chromedp.CSS("#catalog"), "fsa-2022-advisory@2022-03-01"),
		chromedp.SetValue(chromedp.CSS("#period_start"), "2026-04-01"),
		chromedp.SetValue(chromedp.CSS("#period_end"), "2027-03-31"),
		chromedp.Submit(chromedp.CSS("#title")),
		chromedp.WaitVisible(flash),
	)
	if err != nil {
		t.Fatalf("create the assessment: %v", err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimPrefix(loc, e.URL+"/assessments/")
	list, err := e.DB.Assessments(context.Background(), control.AssessmentFilter{Limit: 10})
	if err != nil || len(list) != 1 || list[0].ID != id || list[0].CatalogKey != "fsa-2022-advisory@2022-03-01" {
		t.Fatalf("stored assessment: %+v (url id %s) %v", list, id, err)
	}
	items := []string{"FSA-ADV2022-1a", "FSA-ADV2022-1b", "FSA-ADV2022-1c", "FSA-ADV2022-2a", "FSA-ADV2022-2b", "FSA-ADV2022-3a", "FSA-ADV2022-3b"}

	// 2. Answer every item.
	for i, node := range items {
		status := "implemented"
		if i == 6 {
			status = "partial"
		}
		err := chromedp.Do(ctx,
			chromedp.Navigate(e.URL+"/assessments/"+id+"/items/"+node),
			chromedp.WaitVisible(chromedp.CSS("#answer-form")),
			chromedp.SetValue(chromedp.CSS("#status"), status),
			// Typing Japanese key by key costs ~20 ms a character in
			// headless Chromium; the value is set directly instead.
			chromedp.SetValue(chromedp.CSS("#explanation"), "対応済み。手順書と記録あり（"+node+"）。"),
			chromedp.Click(chromedp.CSS("#save-answer")),
			chromedp.WaitVisible(flash),
		)
		if err != nil {
			t.Fatalf("answer %s: %v", node, err)
		}
	}

	// 3. Attach evidence: a link, and an uploaded file.
	file := filepath.Join(t.TempDir(), "パスワードポリシー.txt")
	if err := os.WriteFile(file, []byte("パスワードは4段階の強度から選択。ID同一値は禁止。"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.URL+"/assessments/"+id+"/items/FSA-ADV2022-1a"),
		chromedp.WaitVisible(chromedp.CSS("#evidence-form")),
		chromedp.Click(chromedp.CSS("#kind-url")),
		chromedp.SendKeys(chromedp.CSS("#ev-url"), "https://intra.example.jp/policy/password"),
		chromedp.SetValue(chromedp.CSS("#ev-title"), "パスワードポリシー（規程）"),
		chromedp.Click(chromedp.CSS("#attach-evidence")),
		chromedp.WaitVisible(flash),
		chromedp.Click(chromedp.CSS("#kind-file")),
		chromedp.SetUploadFiles(chromedp.CSS("#ev-file"), []string{file}),
		chromedp.Click(chromedp.CSS("#attach-evidence")),
		chromedp.WaitVisible(flash),
		chromedp.WaitVisible(chromedp.Search(`//a[contains(., "パスワードポリシー.txt")]`)),
	)
	if err != nil {
		t.Fatalf("attach evidence: %v", err)
	}
	snap, err := e.Control.Snapshot(actorCtx(ciso), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Evidence) != 2 || snap.Evidence[1].File == nil || snap.Evidence[1].File.Size == 0 {
		t.Fatalf("stored evidence: %+v", snap.Evidence)
	}

	// 4. Submit for review, and sign out.
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.URL+"/assessments/"+id),
		chromedp.Click(chromedp.CSS("#submit-assessment")),
		chromedp.WaitVisible(flash),
		chromedp.Click(chromedp.CSS(`form[action="/sign-out"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#email")),
	)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}

	// 5. The second line reviews every answer and signs off.
	signIn(risk)
	for _, node := range items {
		err := chromedp.Do(ctx,
			chromedp.Navigate(e.URL+"/assessments/"+id+"/items/"+node),
			chromedp.WaitVisible(chromedp.CSS("#review-agree")),
			chromedp.Click(chromedp.CSS("#review-agree")),
			chromedp.WaitVisible(flash),
		)
		if err != nil {
			t.Fatalf("review %s: %v", node, err)
		}
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.URL+"/assessments/"+id),
		chromedp.SetValue(chromedp.CSS("#signoff-note"), "第2線として確認しました。"),
		chromedp.Click(chromedp.CSS("#sign-off")),
		chromedp.WaitVisible(flash),
	)
	if err != nil {
		t.Fatalf("sign off: %v", err)
	}
	a, err := e.DB.Assessment(context.Background(), id)
	if err != nil || a.State != control.StateSignedOff || a.SignedOffBy != risk.ID || a.SubmittedBy != ciso.ID {
		t.Fatalf("after sign-off: %+v %v", a, err)
	}

	// 6. The report.
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.URL+"/assessments/"+id+"/report"),
		chromedp.WaitVisible(chromedp.CSS("svg.chart")),
	)
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1.report-title")))
	if err != nil {
		t.Fatal(err)
	}
	report, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("article.report")))
	if err != nil {
		t.Fatal(err)
	}
	if title != "注意喚起（2022年3月）への対応状況" {
		t.Errorf("report title %q", title)
	}
	for _, want := range []string{"承認済み（サインオフ）", "リスク低減のための措置", "一部対応", "手順書と記録あり（FSA-ADV2022-3b）"} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	charts, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("article.report svg.chart")))
	if err != nil || len(charts) != 4 { // the summary and one per area (3)
		t.Errorf("%d charts in the report: %v", len(charts), err)
	}
}
