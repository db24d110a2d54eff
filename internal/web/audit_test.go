package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/mamoritest"
	"github.com/mamori-dev/mamori/internal/store"
)

func apiGet(t *testing.T, e *mamoritest.Env, token, method, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, e.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
	return res.StatusCode
}

type checkpointJSON struct {
	TreeSize    uint64 `json:"tree_size"`
	RootHash    []byte `json:"root_hash"`
	Note        string `json:"note"`
	VerifierKey string `json:"verifier_key"`
}

func TestAuditAPIProofsBetweenSignedCheckpoints(t *testing.T) {
	for _, d := range mamoritest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := mamoritest.NewEnv(t, d)
			auditor := e.User("auditor@example.jp", false, "auditor")
			tok := e.Token(auditor, "read")
			sys := mamori.WithActor(context.Background(), mamori.SystemActor())
			for i := 0; i < 25; i++ {
				e.User(fmt.Sprintf("u%d@example.jp", i), false, "viewer")
			}
			// Last quarter's checkpoint, kept by the auditor.
			var kept checkpointJSON
			if st := apiGet(t, e, tok, http.MethodPost, "/api/v1/audit/checkpoints", &kept); st != 200 || kept.TreeSize == 0 {
				t.Fatalf("sign: %d %+v", st, kept)
			}
			for i := 0; i < 40; i++ {
				if err := e.DB.AppendAudit(sys, audit.New(sys, audit.SettingChanged, "setting", fmt.Sprint(i))); err != nil {
					t.Fatal(err)
				}
			}
			var cur checkpointJSON
			if st := apiGet(t, e, tok, http.MethodPost, "/api/v1/audit/checkpoints", &cur); st != 200 || cur.TreeSize != kept.TreeSize+40 {
				t.Fatalf("second checkpoint: %d %+v", st, cur)
			}
			// The auditor trusts the key handed over out of band, not the API.
			trusted, err := audit.NewVerifiers(e.Audit.Signer().VerifierKey())
			if err != nil {
				t.Fatal(err)
			}
			c1, err := audit.ParseCheckpoint([]byte(kept.Note), trusted)
			if err != nil {
				t.Fatal(err)
			}
			c2, err := audit.ParseCheckpoint([]byte(cur.Note), trusted)
			if err != nil {
				t.Fatal(err)
			}
			var cons struct {
				From, To uint64
				Hashes   [][]byte `json:"hashes"`
			}
			if st := apiGet(t, e, tok, http.MethodGet, fmt.Sprintf("/api/v1/audit/consistency?from=%d", c1.Size), &cons); st != 200 || cons.To != c2.Size {
				t.Fatalf("consistency: %d %+v", st, cons)
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, c1.Size, c2.Size, cons.Hashes, c1.Root, c2.Root); err != nil {
				t.Fatalf("the trail did not provably only grow: %v", err)
			}

			// Inclusion of an event, from its leaf data.
			var page struct {
				Items []struct {
					ID       string `json:"id"`
					Seq      int64  `json:"seq"`
					LeafData string `json:"leaf_data"`
				} `json:"items"`
				Total int `json:"total"`
			}
			if st := apiGet(t, e, tok, http.MethodGet, "/api/v1/audit/events?type=user.created&limit=5", &page); st != 200 || page.Total != 26 {
				t.Fatalf("events: %d %d", st, page.Total)
			}
			ev := page.Items[3]
			var inc struct {
				LeafIndex uint64   `json:"leaf_index"`
				TreeSize  uint64   `json:"tree_size"`
				Hashes    [][]byte `json:"hashes"`
			}
			if st := apiGet(t, e, tok, http.MethodGet, "/api/v1/audit/events/"+ev.ID+"/proof", &inc); st != 200 || inc.TreeSize != c2.Size {
				t.Fatalf("proof: %d %+v", st, inc)
			}
			leaf := audit.LeafHash([]byte(ev.LeafData))
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, inc.LeafIndex, inc.TreeSize, leaf, inc.Hashes, c2.Root); err != nil {
				t.Fatalf("inclusion: %v", err)
			}
			// Bad input is named.
			if st := apiGet(t, e, tok, http.MethodGet, "/api/v1/audit/consistency?from=abc", nil); st != http.StatusUnprocessableEntity {
				t.Fatalf("bad from: %d", st)
			}
			if st := apiGet(t, e, tok, http.MethodGet, fmt.Sprintf("/api/v1/audit/consistency?from=%d&to=%d", c2.Size+5, c2.Size), nil); st != http.StatusUnprocessableEntity {
				t.Fatalf("from beyond to: %d", st)
			}
			// Others cannot read the trail.
			viewer := e.User("viewer@example.jp", false, "viewer")
			if st := apiGet(t, e, e.Token(viewer, "read"), http.MethodGet, "/api/v1/audit/checkpoint", nil); st != http.StatusForbidden {
				t.Fatalf("viewer: %d", st)
			}
		})
	}
}

func TestAuditPageFilterAndExport(t *testing.T) {
	e := mamoritest.NewEnv(t, store.SQLite)
	auditor := e.User("auditor@example.jp", false, "auditor")
	admin := e.User("admin@example.jp", true, "admin")
	sys := mamori.WithActor(context.Background(), mamori.SystemActor())
	for i := 0; i < 3; i++ {
		if err := e.DB.AppendAudit(sys, audit.New(sys, audit.RoleGranted, "user", admin.ID).With("role", "auditor")); err != nil {
			t.Fatal(err)
		}
	}
	b := e.NewBrowser()
	tok, _ := e.Session(auditor)
	cookie := &http.Cookie{Name: mamoritest.SessionCookieName, Value: tok}
	get := func(path string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, e.URL+path, nil)
		req.AddCookie(cookie)
		res, err := b.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(body)
	}
	res, body := get("/admin/audit?type=user.role&target_id=" + admin.ID)
	if res.StatusCode != 200 || !strings.Contains(body, "M2010I") || strings.Contains(body, "M2000I") {
		t.Fatalf("filtered page: %d\n%s", res.StatusCode, body)
	}
	if !strings.Contains(body, `href="/admin/audit/export.csv?target_id=`) {
		t.Fatal("no export link for the filter")
	}
	res, body = get("/admin/audit?since=not-a-date")
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad date: %d", res.StatusCode)
	}
	res, body = get("/admin/audit/export.csv?type=M2010I")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
	if err != nil || len(rows) != 4 || rows[0][0] != "seq" || rows[1][3] != "M2010I" {
		t.Fatalf("CSV: %v %q", err, rows)
	}
	// The export is in the trail, with the filter but no personal values.
	recs, n, err := e.Audit.Events(sys, audit.Filter{Type: string(audit.DataExported)})
	if err != nil || n != 1 || recs[0].ActorID != auditor.ID || !strings.Contains(recs[0].DetailsText, `"type":"M2010I"`) {
		t.Fatalf("export not recorded: %d %v %+v", n, err, recs)
	}
	// An administrator without audit.read cannot read or export the trail.
	atok, _ := e.Session(admin)
	for _, p := range []string{"/admin/audit", "/admin/audit/export.csv"} {
		req, _ := http.NewRequest(http.MethodGet, e.URL+p, nil)
		req.AddCookie(&http.Cookie{Name: mamoritest.SessionCookieName, Value: atok})
		res, err := e.NewBrowser().Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("admin on %s: %d", p, res.StatusCode)
		}
	}
	if _, n, _ := e.Audit.Events(sys, audit.Filter{Type: string(audit.DataExported)}); n != 1 {
		t.Fatal("a denied export was recorded as an export")
	}
	// The checkpoint can be signed from the page and downloaded.
	u, _ := url.Parse(e.URL)
	b.Client.Jar.SetCookies(u, []*http.Cookie{cookie})
	b.Get("/admin/audit")
	res, _ = b.Post("/admin/audit/checkpoint", nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign from the page: %d", res.StatusCode)
	}
	res, body = get("/admin/audit/checkpoint.txt")
	if res.StatusCode != 200 || !bytes.Contains([]byte(body), []byte("\n— ")) {
		t.Fatalf("checkpoint download: %d %q", res.StatusCode, body)
	}
}

func TestBackupsPageAndAPI(t *testing.T) {
	e := mamoritest.NewEnv(t, store.SQLite)
	admin := e.User("admin@example.jp", true, "admin")
	tok, _ := e.Session(admin)
	req, _ := http.NewRequest(http.MethodGet, e.URL+"/admin/backups", nil)
	req.AddCookie(&http.Cookie{Name: mamoritest.SessionCookieName, Value: tok})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "backup.dirs") {
		t.Fatalf("backups page: %d", res.StatusCode)
	}
	var drills []map[string]any
	if st := apiGet(t, e, e.Token(admin, "write"), http.MethodGet, "/api/v1/backups/drills", &drills); st != 200 || len(drills) != 0 {
		t.Fatalf("drills: %d %v", st, drills)
	}
	auditor := e.User("auditor@example.jp", false, "auditor")
	if st := apiGet(t, e, e.Token(auditor, "read"), http.MethodGet, "/api/v1/backups/drills", nil); st != http.StatusForbidden {
		t.Fatalf("auditor on drills: %d", st)
	}
}
