package control_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/mamori-dev/mamori/internal/control"
)

func shipped(t testing.TB) *control.Library {
	t.Helper()
	lib, err := control.Shipped()
	if err != nil {
		t.Fatalf("Shipped: %v", err)
	}
	return lib
}

func mustCatalog(t testing.TB, id string) *control.Catalog {
	t.Helper()
	c, err := shipped(t).Catalog(id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestShippedCatalogs(t *testing.T) {
	lib := shipped(t)
	var keys []string
	for _, c := range lib.List() {
		keys = append(keys, c.Key())
	}
	want := "fintech-checkpoints@2026-11-22 fsa-2022-advisory@2022-03-01 fsa-csgl@2025-07-04"
	if got := strings.Join(keys, " "); got != want {
		t.Fatalf("shipped catalogs = %s, want %s", got, want)
	}
}

// The FSA guideline's item totals, per area, as counted in the 2025-07-04
// text (see docs/catalogs.md for the 125-vs-126 caveat).
func TestFSACounts(t *testing.T) {
	c := mustCatalog(t, "fsa-csgl")
	if c.Edition.Date != "2025-07-04" {
		t.Errorf("edition = %s, want 2025-07-04", c.Edition.Date)
	}
	k := c.Count()
	if k.Items != 176 || k.ByTier[control.TierBasic] != 126 || k.ByTier[control.TierDesirable] != 50 {
		t.Fatalf("counts = %+v, want 176 = 126 basic + 50 desirable", k)
	}
	want := map[string][2]int{"2.1": {19, 7}, "2.2": {30, 21}, "2.3": {38, 12}, "2.4": {9, 3}, "2.5": {20, 2}, "2.6": {10, 5}}
	areas := c.CountByArea()
	if len(areas) != len(want) {
		t.Fatalf("%d areas, want %d", len(areas), len(want))
	}
	for _, a := range areas {
		w, ok := want[a.Ref]
		if !ok {
			t.Errorf("unexpected area %s", a.Ref)
			continue
		}
		if got := [2]int{a.ByTier[control.TierBasic], a.ByTier[control.TierDesirable]}; got != w {
			t.Errorf("area %s: basic/desirable = %v, want %v", a.Ref, got, w)
		}
	}
	// Subsection totals from the notes' tree.
	sub := map[string][2]int{
		"FSA-CSGL-2.1.1": {9, 5}, "FSA-CSGL-2.1.2": {2, 0}, "FSA-CSGL-2.1.3": {4, 0}, "FSA-CSGL-2.1.4": {2, 1}, "FSA-CSGL-2.1.5": {2, 1},
		"FSA-CSGL-2.2.1": {6, 5}, "FSA-CSGL-2.2.1.2": {1, 5}, "FSA-CSGL-2.2.2": {12, 7}, "FSA-CSGL-2.2.3": {6, 1}, "FSA-CSGL-2.2.4": {1, 4}, "FSA-CSGL-2.2.5": {5, 4},
		"FSA-CSGL-2.3.1": {8, 0}, "FSA-CSGL-2.3.2": {5, 2}, "FSA-CSGL-2.3.3": {5, 2}, "FSA-CSGL-2.3.4": {19, 8},
		"FSA-CSGL-2.3.4.1": {4, 4}, "FSA-CSGL-2.3.4.4": {5, 3}, "FSA-CSGL-2.3.4.5": {6, 0},
		"FSA-CSGL-2.4.1": {7, 3}, "FSA-CSGL-2.5.1": {1, 1}, "FSA-CSGL-2.5.2": {19, 1}, "FSA-CSGL-2.5.2.6": {6, 0},
		"FSA-CSGL-1": {0, 0}, "FSA-CSGL-3": {0, 0},
	}
	for id, w := range sub {
		k, err := c.CountUnder(id)
		if err != nil {
			t.Fatal(err)
		}
		if got := [2]int{k.ByTier[control.TierBasic], k.ByTier[control.TierDesirable]}; got != w {
			t.Errorf("%s: basic/desirable = %v, want %v", id, got, w)
		}
	}
}

// IDs follow the scheme: sections FSA-CSGL-<ref>, basic items
// <section>-Bnn with ① → 01, desirable items <section>-D<letter>.
func TestFSAIDScheme(t *testing.T) {
	c := mustCatalog(t, "fsa-csgl")
	circled := []rune("①②③④⑤⑥⑦⑧⑨⑩")
	err := c.Walk(func(n, parent *control.Node, _ int) error {
		switch n.Kind {
		case control.KindSection:
			if n.ID != "FSA-CSGL-"+n.Ref {
				return fmt.Errorf("section %s has ref %s", n.ID, n.Ref)
			}
		case control.KindItem:
			var want string
			switch n.Tier {
			case control.TierBasic:
				i := strings.IndexRune(string(circled), []rune(n.Ref)[0])
				if i < 0 {
					return fmt.Errorf("%s: basic ref %q is not a circled number", n.ID, n.Ref)
				}
				want = fmt.Sprintf("%s-B%02d", parent.ID, len([]rune(string(circled)[:i]))+1)
			case control.TierDesirable:
				want = parent.ID + "-D" + n.Ref
			}
			if n.ID != want {
				return fmt.Errorf("item %s (ref %s, tier %s) should be %s", n.ID, n.Ref, n.Tier, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Parent-level items exist under sections that also have subsections.
	for _, id := range []string{"FSA-CSGL-2.2.1-B01", "FSA-CSGL-2.2.1-B02", "FSA-CSGL-2.3-B01", "FSA-CSGL-2.4-B02", "FSA-CSGL-2.6-B10", "FSA-CSGL-2.2.3-B03", "FSA-CSGL-2.2.3-Da"} {
		if !c.Has(id) {
			t.Errorf("missing %s", id)
		}
	}
}

var (
	hasKana  = regexp.MustCompile(`[\p{Hiragana}\p{Katakana}\p{Han}]`)
	hasLatin = regexp.MustCompile(`[A-Za-z]`)
)

// Every node of every shipped catalog has its title in both languages and
// every item its text in both; the Japanese is Japanese and the English is
// not a copy of it.
func TestShippedBilingual(t *testing.T) {
	for _, c := range shipped(t).List() {
		t.Run(c.Framework.ID, func(t *testing.T) {
			if strings.Join(c.Languages, ",") != "ja,en" {
				t.Fatalf("languages = %v", c.Languages)
			}
			check := func(what string, tx control.Text) error {
				ja, en := tx["ja"], tx["en"]
				switch {
				case ja == "" || en == "":
					return fmt.Errorf("%s lacks a language: %q / %q", what, ja, en)
				case !hasKana.MatchString(ja):
					return fmt.Errorf("%s: ja %q has no Japanese", what, ja)
				case hasKana.MatchString(en) || !hasLatin.MatchString(en):
					return fmt.Errorf("%s: en %q is not English", what, en)
				}
				return nil
			}
			err := c.Walk(func(n, _ *control.Node, _ int) error {
				if err := check(n.ID+".title", n.Title); err != nil {
					return err
				}
				if n.Assessable() || !n.Text.IsZero() {
					if err := check(n.ID+".text", n.Text); err != nil {
						return err
					}
				}
				for _, h := range n.EvidenceHints {
					if h["ja"] == "" || h["en"] == "" {
						return fmt.Errorf("%s: evidence hint lacks a language", n.ID)
					}
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
}

func TestMappingsResolve(t *testing.T) {
	lib := shipped(t)
	for _, tc := range []struct {
		id       string
		mappings int
		mapped   int // distinct items with a mapping
	}{
		{"fsa-2022-advisory", 16, 7},
		{"fintech-checkpoints", 48, 40},
	} {
		c := mustCatalog(t, tc.id)
		if len(c.Mappings) != tc.mappings {
			t.Errorf("%s: %d mappings, want %d", tc.id, len(c.Mappings), tc.mappings)
		}
		items := map[string]bool{}
		for _, m := range c.Mappings {
			if _, _, err := lib.Resolve(m); err != nil {
				t.Errorf("%s: %s → %s: %v", tc.id, m.Source, m.Target, err)
			}
			items[m.Source] = true
		}
		if len(items) != tc.mapped {
			t.Errorf("%s: %d items mapped, want %d", tc.id, len(items), tc.mapped)
		}
	}
	// Every advisory item maps somewhere.
	for _, n := range mustCatalog(t, "fsa-2022-advisory").Items() {
		if len(mustCatalog(t, "fsa-2022-advisory").MappingsFrom(n.ID)) == 0 {
			t.Errorf("advisory item %s has no mapping", n.ID)
		}
	}
	into := lib.MappingsInto("fsa-csgl", "FSA-CSGL-2.3.3-B05")
	if len(into) != 2 {
		t.Errorf("MappingsInto backups = %d, want 2 (advisory 3a, FinTech 4.2-01): %+v", len(into), into)
	}
}

func TestAdvisoryAndFinTechShape(t *testing.T) {
	adv := mustCatalog(t, "fsa-2022-advisory")
	var refs []string
	for _, n := range adv.Items() {
		refs = append(refs, n.Ref)
	}
	if got := strings.Join(refs, " "); got != "1-a 1-b 1-c 2-a 2-b 3-a 3-b" {
		t.Errorf("advisory items = %s", got)
	}
	ft := mustCatalog(t, "fintech-checkpoints")
	var chapters []string
	for _, a := range ft.Areas() {
		chapters = append(chapters, a.Title["ja"])
	}
	if got := strings.Join(chapters, "/"); got != "データ管理（機密保護）/アクセス管理・ログ取得/運用管理・監視/構成管理/企画・開発・変更管理" {
		t.Errorf("FinTech chapters = %s", got)
	}
	always, conditional := 0, 0
	for _, n := range ft.Items() {
		if n.AssumedRisk["ja"] == "" || n.AssumedRisk["en"] == "" {
			t.Errorf("%s has no assumed risk in both languages", n.ID)
		}
		if len(n.Measures) == 0 {
			t.Errorf("%s has no example measures", n.ID)
		}
		if n.AppliesAlways() {
			always++
		} else {
			conditional++
		}
	}
	if always != 36 || conditional != 7 {
		t.Errorf("FinTech always/conditional = %d/%d, want 36/7", always, conditional)
	}
	root, err := ft.Node("FINTECH-2.1-01")
	if err != nil || len(root.Measures) < 3 {
		t.Errorf("the root-account checkpoint of the seed should carry its measures: %v", err)
	}
	input, err := ft.Node("FINTECH-3.2-01")
	if err != nil || input.AppliesAlways() || input.Applicability[0].Condition != "manual-input" {
		t.Errorf("the input-accuracy checkpoint should depend on manual input: %+v", input)
	}
	bad := 0
	for _, n := range ft.Items() {
		bad += len(n.BadExamples)
	}
	if bad < 8 {
		t.Errorf("only %d bad examples", bad)
	}
}

// A shared catalog can be validated, exported and queried at once (run
// with -race).
func TestConcurrentUse(t *testing.T) {
	c := mustCatalog(t, "fsa-csgl")
	done := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func(i int) {
			var err error
			switch i % 3 {
			case 0:
				err = c.Validate()
			case 1:
				_, err = c.Path("FSA-CSGL-2.3.4.2-B01")
			default:
				var b strings.Builder
				err = control.EncodeJSON(&b, c)
			}
			done <- err
		}(i)
	}
	for i := 0; i < 8; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// Every FSA item has evidence hints, its own or its sections'.
func TestFSAEvidenceHints(t *testing.T) {
	c := mustCatalog(t, "fsa-csgl")
	for _, n := range c.Items() {
		hints, err := c.EvidenceHints(n.ID)
		if err != nil || len(hints) == 0 {
			t.Errorf("%s has no evidence hints", n.ID)
		}
	}
}
