package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/auth"
	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/format/sheet"
	"github.com/mamori-dev/mamori/internal/mamoritest"
	"github.com/mamori-dev/mamori/internal/store"
)

func actorCtx(u *auth.User) context.Context {
	return mamori.WithActor(context.Background(), &mamori.Actor{UserID: u.ID, Email: u.Email, Roles: u.Roles, Perms: auth.PermsOf(u.Roles), AuthTime: time.Now()})
}

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// fixture is an assessment with every kind of data a page shows.
type fixture struct {
	e                       *mamoritest.Env
	ciso, risk, viewer, own *auth.User
	a                       *control.Assessment
	file                    *control.Evidence
}

func newFixture(t *testing.T, d store.Dialect) *fixture {
	t.Helper()
	e := mamoritest.NewEnv(t, d)
	f := &fixture{e: e,
		ciso:   e.User("ciso@example.jp", true, auth.RoleSecurityManager),
		risk:   e.User("risk@example.jp", true, auth.RoleRiskManager),
		viewer: e.User("viewer@example.jp", false, auth.RoleViewer),
		own:    e.User("owner@example.jp", true, auth.RoleSystemOwner),
	}
	ctx := actorCtx(f.ciso)
	var err error
	f.a, err = e.Control.CreateAssessment(ctx, control.NewAssessment{Title: "2026年度 自己評価", Catalog: "fsa-csgl", Profile: control.ProfileCustom,
		Scope: control.ParseScope("組織全体"), PeriodStart: date("2026-04-01"), PeriodEnd: date("2027-03-31")})
	if err != nil {
		t.Fatal(err)
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.Control.UpdateItem(ctx, f.a.ID, "FSA-CSGL-2.1.1-B01", 0, control.Answer{Status: control.ItemImplemented, OwnerID: f.own.ID, Explanation: "取締役会で承認済み。"}))
	must(e.Control.UpdateItem(ctx, f.a.ID, "FSA-CSGL-2.1.1-B02", 0, control.Answer{Status: control.ItemPlanned, TargetDate: date("2026-12-31"), DueDate: date("2026-04-10")}))
	must(e.Control.UpdateItem(ctx, f.a.ID, "FSA-CSGL-2.1.1-B03", 0, control.Answer{Status: control.ItemNotApplicable, Rationale: "該当なし"}))
	must(e.Control.RequestRiskAcceptance(ctx, f.a.ID, "FSA-CSGL-2.2.3-B03", 0, "旧システム", date("2026-09-30")))
	must(e.Control.RequestExclusion(ctx, f.a.ID, "FSA-CSGL-2.4-B01", 0, "対象なし", date("2027-03-31")))
	must(e.Control.AddEvidence(ctx, f.a.ID, "FSA-CSGL-2.1.1-B01", control.EvidenceInput{Kind: control.EvidenceURL, Title: "方針", URL: "https://intra.example.jp/policy", EffectiveOn: date("2026-04-01")}))
	must(e.Control.AddEvidence(ctx, f.a.ID, "FSA-CSGL-2.1.1-B01", control.EvidenceInput{Kind: control.EvidenceRecord, Title: "議事録", RecordType: "report", RecordID: mamori.NewID(), EffectiveOn: date("2026-04-01")}))
	f.file, err = e.Control.AddEvidenceFile(ctx, f.a.ID, "FSA-CSGL-2.1.1-B01", strings.NewReader("<html><script>alert(1)</script></html>"), "方針 v2.html", "text/html", control.EvidenceInput{EffectiveOn: date("2026-04-01")})
	must(f.file, err)
	must(e.Control.CreateTask(ctx, f.a.ID, control.TaskInput{Title: "計画策定", NodeID: "FSA-CSGL-2.1.1-B02", OwnerID: f.own.ID, DueDate: date("2026-03-31")}))
	must(e.Control.ReviewItem(actorCtx(f.risk), f.a.ID, "FSA-CSGL-2.1.1-B01", 0, true, "OK"))
	return f
}

func fetch(t *testing.T, e *mamoritest.Env, path, cookie, lang string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.URL+path, nil)
	if cookie != "" {
		req.Header.Set("Cookie", mamoritest.SessionCookieName+"="+cookie+"; mamori_lang="+lang)
	}
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

// TestAssessmentPagesRender opens every catalog and assessment page with
// real data, as a writer, a reviewer and a viewer, in both languages.
func TestAssessmentPagesRender(t *testing.T) {
	f := newFixture(t, store.SQLite)
	e, id := f.e, f.a.ID
	pages := []struct{ path, want string }{
		{"/assessments", "2026年度 自己評価"},
		{"/assessments/new", `name="catalog"`},
		{"/assessments/" + id, "<svg"},
		{"/assessments/" + id + "/edit", `name="version"`},
		{"/assessments/" + id + "/items", "FSA-CSGL-2.1.1-B01"},
		{"/assessments/" + id + "/items?status=gap", "FSA-CSGL-2.1.1-B02"},
		{"/assessments/" + id + "/items?status=awaiting&q=2.2.3", "FSA-CSGL-2.2.3-B03"},
		{"/assessments/" + id + "/items/FSA-CSGL-2.1.1-B01", "取締役会で承認済み。"},
		{"/assessments/" + id + "/items/FSA-CSGL-2.2.3-B03", "旧システム"},
		{"/assessments/" + id + "/items/FSA-CSGL-2.1.1-B01?lang=en", "Basic cybersecurity policy"},
		{"/assessments/" + id + "/gaps", "FSA-CSGL-2.1.1-B02"},
		{"/assessments/" + id + "/tasks", "計画策定"},
		{"/assessments/" + id + "/report", "<svg"},
		{"/obligations", "P6M"},
		{"/catalogs", "fsa-2022-advisory"},
		{"/catalogs/fsa-csgl@2025-07-04", "FSA-CSGL-2.2.3-B03"},
		{"/catalogs/fintech-checkpoints?lang=en", "FINTECH-"},
		{"/", "compliance"},
	}
	for _, u := range []*auth.User{f.ciso, f.risk, f.viewer} {
		tok, _ := e.Session(u)
		for _, lang := range []string{"ja", "en"} {
			for _, p := range pages {
				if p.path == "/assessments/new" || strings.HasSuffix(p.path, "/edit") {
					if u != f.ciso {
						continue
					}
				}
				if strings.HasPrefix(p.path, "/catalogs") && u == f.viewer {
					// viewers hold catalog.read too
				}
				res, body := fetch(t, e, p.path, tok, lang)
				if res.StatusCode != http.StatusOK {
					t.Errorf("%s as %s in %s: status %d", p.path, u.Roles[0], lang, res.StatusCode)
					continue
				}
				if !bytes.Contains(body, []byte(p.want)) {
					t.Errorf("%s as %s in %s: the page lacks %q", p.path, u.Roles[0], lang, p.want)
				}
				if u == f.viewer && bytes.Contains(body, []byte("owner@example.jp")) {
					t.Errorf("%s shows personal data to a viewer", p.path)
				}
			}
		}
	}
	// The Japanese page is in Japanese, the English one in English.
	tok, _ := e.Session(f.ciso)
	_, ja := fetch(t, e, "/assessments/"+id, tok, "ja")
	_, en := fetch(t, e, "/assessments/"+id, tok, "en")
	if !bytes.Contains(ja, []byte("分野ごとの進捗")) || !bytes.Contains(en, []byte("Progress by area")) {
		t.Error("the overview is not in the chosen language")
	}
}

func TestAssessmentExports(t *testing.T) {
	f := newFixture(t, store.SQLite)
	e, id := f.e, f.a.ID
	for _, tc := range []struct {
		format, ctype string
		magic         []byte
	}{
		{"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", []byte("PK")},
		{"json", "application/json", []byte("{")},
		{"pdf", "application/pdf", []byte("%PDF-")},
		{"checksheet.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", []byte("PK")},
		{"checksheet.csv", "text/csv; charset=utf-8", []byte{0xEF, 0xBB, 0xBF}},
	} {
		for _, u := range []*auth.User{f.ciso, f.viewer} {
			tok, _ := e.Session(u)
			res, body := fetch(t, e, "/assessments/"+id+"/export/"+tc.format, tok, "ja")
			if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != tc.ctype || !bytes.HasPrefix(body, tc.magic) {
				t.Errorf("%s: status %d, type %q, starts %q", tc.format, res.StatusCode, res.Header.Get("Content-Type"), body[:min(len(body), 8)])
				continue
			}
			if !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment;") {
				t.Errorf("%s: not an attachment", tc.format)
			}
			if tc.format == "xlsx" {
				wb, err := sheet.ReadWorkbook(body)
				if err != nil {
					t.Fatal(err)
				}
				owner := ""
				for _, it := range wb.Items {
					if it.Item == "FSA-CSGL-2.1.1-B01" {
						owner = it.Owner
					}
				}
				if (u == f.viewer) != (owner == "***") {
					t.Errorf("xlsx for %s: owner %q", u.Roles[0], owner)
				}
			}
			if tc.format == "checksheet.csv" {
				rows, err := sheet.ReadCheckSheet(body)
				if err != nil || len(rows) != 176 {
					t.Errorf("check sheet: %d rows, %v", len(rows), err)
				}
			}
		}
	}
	if res, _ := fetch(t, e, "/assessments/"+id+"/export/docx", mustSession(e, f.ciso), "ja"); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("unknown format: %d", res.StatusCode)
	}
	// Each export is in the audit trail.
	h, _ := e.DB.History(context.Background(), control.TargetAssessment, id, 100)
	n := 0
	for _, ev := range h {
		if ev.Type == "data.exported" {
			n++
		}
	}
	if n != 10 {
		t.Errorf("%d export events, want 10", n)
	}
	// Evidence files download as attachments, never rendered (an uploaded
	// HTML page must not run on mamori's origin).
	res, body := fetch(t, e, "/assessments/"+id+"/evidence/"+f.file.ID+"/file", mustSession(e, f.viewer), "ja")
	if res.StatusCode != 200 || string(body) != "<html><script>alert(1)</script></html>" {
		t.Fatalf("download: %d %q", res.StatusCode, body)
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, "filename*=UTF-8''%E6%96%B9%E9%87%9D%20v2.html") {
		t.Errorf("Content-Disposition %q", cd)
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Error("download without nosniff or CSP")
	}
}

func mustSession(e *mamoritest.Env, u *auth.User) string {
	tok, _ := e.Session(u)
	return tok
}

// TestAssessmentForms drives the forms like a browser: create, answer,
// a stale edit, evidence upload, and an import with errors.
func TestAssessmentForms(t *testing.T) {
	f := newFixture(t, store.SQLite)
	e := f.e
	b := e.NewBrowser()
	if res := b.SignIn(f.ciso.Email, mamoritest.Password, true); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", res.StatusCode)
	}
	b.Get("/assessments/new")
	res, body := b.Post("/assessments", url.Values{"title": {""}, "catalog": {"fsa-2022-advisory@2022-03-01"}, "profile": {"basic"}, "scope": {"組織全体"},
		"period_start": {"2026-04-01"}, "period_end": {"2027-03-31"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "評価のタイトルを入力してください。") {
		t.Fatalf("create without title: %d", res.StatusCode)
	}
	res, _ = b.Post("/assessments", url.Values{"title": {"注意喚起への回答"}, "catalog": {"fsa-2022-advisory@2022-03-01"}, "profile": {"basic"},
		"scope": {"組織全体"}, "period_start": {"2026-04-01"}, "period_end": {"2027-03-31"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", res.StatusCode)
	}
	loc := res.Header.Get("Location")
	id := strings.TrimPrefix(loc, "/assessments/")
	item := loc + "/items/FSA-ADV2022-1a"
	b.Get(item)
	res, _ = b.Post(item, url.Values{"version": {"1"}, "status": {"implemented"}, "explanation": {"パスワードポリシー4段階、TOTPとFIDOに対応。"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("answer: %d", res.StatusCode)
	}
	// The same form again is stale.
	res, body = b.Post(item, url.Values{"version": {"1"}, "status": {"partial"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "ほかの人が変更しました") {
		t.Errorf("stale answer: %d", res.StatusCode)
	}
	// Upload a file as evidence.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("csrf", b.CSRF)
	_ = mw.WriteField("kind", "file")
	_ = mw.WriteField("effective_on", "2026-04-01")
	fw, _ := mw.CreateFormFile("file", "パスワードポリシー.pdf")
	_, _ = fw.Write([]byte("%PDF-1.4 policy"))
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, e.URL+item+"/evidence", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", e.URL)
	res, err := b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload: %d", res.StatusCode)
	}
	snap, _ := e.Control.Snapshot(actorCtx(f.ciso), id)
	if len(snap.Evidence) != 1 || snap.Evidence[0].File == nil || snap.Evidence[0].File.Name != "パスワードポリシー.pdf" {
		t.Fatalf("uploaded evidence: %+v", snap.Evidence)
	}
	// Import a workbook with a bad row: every problem listed, nothing changed.
	var wbuf bytes.Buffer
	wb := snap.ToWorkbook(false)
	wb.Items[1].Status = "maybe"
	wb.Items[2].DueDate = "2026-02-30"
	if err := sheet.WriteWorkbook(&wbuf, wb, "ja"); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	mw = multipart.NewWriter(&buf)
	_ = mw.WriteField("csrf", b.CSRF)
	fw, _ = mw.CreateFormFile("file", "回答.xlsx")
	_, _ = fw.Write(wbuf.Bytes())
	mw.Close()
	req, _ = http.NewRequest(http.MethodPost, e.URL+"/assessments/import", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", e.URL)
	res, err = b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{"Items, row 3, column F (status)", "Items, row 4, column J (due_date)", "何も変更していません", "対応状況を選んでください。", "YYYY-MM-DD"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("import error page lacks %q (status %d)", want, res.StatusCode)
		}
	}
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("import with errors: %d", res.StatusCode)
	}
}

func apiCall(t *testing.T, e *mamoritest.Env, token, method, path string, body any, ctype string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(v)
	default:
		b, _ := json.Marshal(v)
		rd = bytes.NewReader(b)
		ctype = "application/json"
	}
	req, _ := http.NewRequest(method, e.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res, out
}

func TestAssessmentAPI(t *testing.T) {
	for _, d := range mamoritest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			f := newFixture(t, d)
			e := f.e
			w, r, v := e.Token(f.ciso, "write"), e.Token(f.risk, "write"), e.Token(f.viewer, "read")
			res, body := apiCall(t, e, w, http.MethodPost, "/api/v1/assessments", map[string]any{"title": "API", "catalog": "fsa-2022-advisory",
				"profile": "basic", "scope": []map[string]string{{"kind": "organisation"}}, "period_start": "2026-04-01", "period_end": "2027-03-31"}, "")
			if res.StatusCode != http.StatusCreated {
				t.Fatalf("create: %d %s", res.StatusCode, body)
			}
			var a control.Assessment
			_ = json.Unmarshal(body, &a)
			base := "/api/v1/assessments/" + a.ID
			res, body = apiCall(t, e, w, http.MethodPut, base+"/items/FSA-ADV2022-1a", map[string]any{"status": "planned"}, "")
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "target_date") {
				t.Errorf("planned without date: %d %s", res.StatusCode, body)
			}
			for _, node := range []string{"FSA-ADV2022-1a", "FSA-ADV2022-1b", "FSA-ADV2022-1c", "FSA-ADV2022-2a", "FSA-ADV2022-2b", "FSA-ADV2022-3a", "FSA-ADV2022-3b"} {
				if res, body := apiCall(t, e, w, http.MethodPut, base+"/items/"+node, map[string]any{"status": "implemented", "explanation": "対応済み"}, ""); res.StatusCode != 200 {
					t.Fatalf("answer %s: %d %s", node, res.StatusCode, body)
				}
			}
			if res, _ := apiCall(t, e, v, http.MethodPut, base+"/items/FSA-ADV2022-1a", map[string]any{"status": "partial"}, ""); res.StatusCode != http.StatusForbidden {
				t.Errorf("viewer answered: %d", res.StatusCode)
			}
			if res, body := apiCall(t, e, w, http.MethodPost, base+"/submit", nil, ""); res.StatusCode != 200 {
				t.Fatalf("submit: %d %s", res.StatusCode, body)
			}
			res, body = apiCall(t, e, r, http.MethodGet, base+"/items", nil, "")
			var rows []struct {
				Answer control.Item `json:"answer"`
			}
			if err := json.Unmarshal(body, &rows); err != nil || len(rows) != 7 {
				t.Fatalf("items: %d %v", len(rows), err)
			}
			for _, row := range rows {
				if res, body := apiCall(t, e, r, http.MethodPost, base+"/items/"+row.Answer.NodeID+"/review", map[string]any{"agree": true, "version": row.Answer.Version}, ""); res.StatusCode != 200 {
					t.Fatalf("review: %d %s", res.StatusCode, body)
				}
			}
			if res, body := apiCall(t, e, r, http.MethodPost, base+"/sign-off", map[string]string{"note": "OK"}, ""); res.StatusCode != 200 {
				t.Fatalf("sign-off: %d %s", res.StatusCode, body)
			}
			res, body = apiCall(t, e, v, http.MethodGet, base+"/export?format=checksheet-csv&lang=ja", nil, "")
			if res.StatusCode != 200 || !strings.Contains(string(body), "1-a,") || !strings.Contains(string(body), "対応済み") {
				t.Errorf("check sheet: %d %s", res.StatusCode, body)
			}
			res, body = apiCall(t, e, w, http.MethodGet, base+"/export?format=xlsx", nil, "")
			if res.StatusCode != 200 {
				t.Fatalf("export: %d", res.StatusCode)
			}
			// Signed off: an import is refused, and says so.
			if res, _ := apiCall(t, e, w, http.MethodPost, "/api/v1/assessments/import", body, "application/octet-stream"); res.StatusCode != http.StatusConflict {
				t.Errorf("import into a signed-off assessment: %d", res.StatusCode)
			}
			res, out := apiCall(t, e, w, http.MethodPost, "/api/v1/assessments/import?as_new=true", body, "application/octet-stream")
			if res.StatusCode != 200 || !strings.Contains(string(out), `"created":true`) {
				t.Errorf("import as new: %d %s", res.StatusCode, out)
			}
			res, body = apiCall(t, e, v, http.MethodGet, "/api/v1/obligations", nil, "")
			if res.StatusCode != 200 || !strings.Contains(string(body), `"fiscal_year_start":"04-01"`) {
				t.Errorf("obligations: %d %s", res.StatusCode, body)
			}
			res, body = apiCall(t, e, v, http.MethodGet, "/api/v1/catalogs/fsa-csgl", nil, "")
			if res.StatusCode != 200 || !strings.Contains(string(body), `"items": 176`) {
				t.Errorf("catalog: %d", res.StatusCode)
			}
			res, body = apiCall(t, e, v, http.MethodGet, "/api/v1/people", nil, "")
			if res.StatusCode != 200 || strings.Contains(string(body), "owner@example.jp") {
				t.Errorf("people for a viewer: %d %s", res.StatusCode, body)
			}
			// Catalog import through the API.
			data := []byte(`{"schema":"mamori.catalog/v1","framework":{"id":"mini","name":{"ja":"ミニ","en":"Mini"}},"edition":{"date":"2026-01-01"},` +
				`"languages":["ja","en"],"nodes":[{"id":"M-1","kind":"item","title":{"ja":"項目","en":"Item"},"text":{"ja":"本文","en":"Text"}}]}`)
			if res, body := apiCall(t, e, w, http.MethodPost, "/api/v1/catalogs?file_name=mini.json", data, "application/json"); res.StatusCode != http.StatusCreated {
				t.Errorf("catalog import: %d %s", res.StatusCode, body)
			}
			if res, _ := apiCall(t, e, w, http.MethodPost, "/api/v1/catalogs", data, "application/json"); res.StatusCode != http.StatusConflict {
				t.Errorf("second catalog import: %d", res.StatusCode)
			}
		})
	}
}

// TestApprovalLinksToItem: an approver reads the request on the approvals
// page and follows it to the item.
func TestApprovalLinksToItem(t *testing.T) {
	f := newFixture(t, store.SQLite)
	tok := mustSession(f.e, f.risk)
	_, body := fetch(t, f.e, "/approvals", tok, "ja")
	i := bytes.Index(body, []byte(`href="/assessment-items/`))
	if i < 0 || !bytes.Contains(body, []byte("リスク受容 / Risk acceptance: 2.2.3 ③")) {
		t.Fatalf("the approvals page does not link the item:\n%s", body)
	}
	link := string(body[i+6 : i+6+len("/assessment-items/")+36])
	res, _ := fetch(t, f.e, link, tok, "ja")
	// The newest request (the exclusion of 2.4 ①) comes first.
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/assessments/"+f.a.ID+"/items/FSA-CSGL-2.4-B01" {
		t.Errorf("%s: %d → %s", link, res.StatusCode, res.Header.Get("Location"))
	}
}
