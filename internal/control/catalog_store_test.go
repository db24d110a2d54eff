package control_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/auth"
	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/format/catalogfile"
	"github.com/mamori-dev/mamori/internal/mamoritest"
)

// TestImportCatalogPersists stores an imported catalog all or nothing,
// serves it with the shipped ones, refuses duplicates and shipped keys, and
// deletes it only while no assessment uses it.
func TestImportCatalogPersists(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *mamoritest.Env) {
		mgr := e.User("mgr@example.jp", true, auth.RoleSecurityManager)
		owner := e.User("owner@example.jp", true, auth.RoleSystemOwner)
		data, err := os.ReadFile("../format/cisoassistant/testdata/anssi-guide-hygiene.yaml")
		if err != nil {
			t.Fatal(err)
		}
		c, format, err := catalogfile.Decode(data, catalogfile.Options{ID: "anssi-hygiene", Tiers: map[string]control.Tier{"S": control.TierBasic, "R": control.TierDesirable}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Control.ImportCatalog(as(owner), c, control.ImportSource{Format: string(format)}); mamori.ErrorCode(err) != mamori.EFORBIDDEN {
			t.Fatalf("system owner imported a catalog: %v", err)
		}
		sc, err := e.Control.ImportCatalog(as(mgr), c, control.ImportSource{Format: string(format), FileName: "/tmp/x/anssi.yaml"})
		if err != nil {
			t.Fatal(err)
		}
		if sc.Key != c.Key() || sc.Basic != 39 || sc.Desirable != 22 || sc.FileName != "anssi.yaml" || len(sc.SHA256) != 64 {
			t.Errorf("stored %+v", sc)
		}
		if _, err := e.Control.ImportCatalog(as(mgr), c, control.ImportSource{}); mamori.ErrorCode(err) != mamori.ECONFLICT {
			t.Errorf("second import: %v", err)
		}
		shipped, _ := control.Shipped()
		fsa, _ := shipped.Catalog("fsa-csgl")
		if _, err := e.Control.ImportCatalog(as(mgr), fsa, control.ImportSource{}); mamori.ErrorCode(err) != mamori.ECONFLICT {
			t.Errorf("import of a shipped key: %v", err)
		}
		list, err := e.Control.Catalogs(as(owner))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, ci := range list {
			if ci.Key == c.Key() {
				found = !ci.Shipped && ci.Counts.Items == 61
			}
		}
		if !found || len(list) != 4 {
			t.Errorf("catalog list: %+v", list)
		}
		// The stored catalog round-trips byte for byte.
		got, err := e.Control.Catalog(as(owner), c.Key())
		if err != nil {
			t.Fatal(err)
		}
		var a, b bytes.Buffer
		_ = control.EncodeJSON(&a, c)
		_ = control.EncodeJSON(&b, got)
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Error("the stored catalog differs from the imported one")
		}
		// In use: cannot be deleted.
		as1, err := e.Control.CreateAssessment(as(mgr), control.NewAssessment{Title: "ANSSI", Catalog: "anssi-hygiene", Profile: control.ProfileBasic,
			Scope: control.ParseScope("organisation"), PeriodStart: day("2026-04-01"), PeriodEnd: day("2027-03-31")})
		if err != nil {
			t.Fatal(err)
		}
		if rep, err := e.Control.Report(as(mgr), as1.ID); err != nil || rep.Progress.Total.All.InScope != 39 {
			t.Errorf("assessment on the imported catalog: %v", err)
		}
		if err := e.Control.DeleteCatalog(as(mgr), c.Key()); mamori.ErrorCode(err) != mamori.ECONFLICT {
			t.Errorf("deleted a catalog in use: %v", err)
		}
		if err := e.Control.DeleteCatalog(as(mgr), "fsa-csgl@2025-07-04"); mamori.ErrorCode(err) != mamori.ECONFLICT {
			t.Errorf("deleted a shipped catalog: %v", err)
		}
		// An unused imported catalog can be deleted.
		c2, _, err := catalogfile.Decode(data, catalogfile.Options{ID: "anssi-copy"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Control.ImportCatalog(as(mgr), c2, control.ImportSource{}); err != nil {
			t.Fatal(err)
		}
		if err := e.Control.DeleteCatalog(as(mgr), c2.Key()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Control.Catalog(as(mgr), c2.Key()); mamori.ErrorCode(err) != mamori.ENOTFOUND {
			t.Errorf("deleted catalog still served: %v", err)
		}
	})
}
