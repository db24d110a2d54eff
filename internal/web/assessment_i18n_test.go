package web

import (
	"strings"
	"testing"

	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/i18n"
)

// TestAssessmentTextsTranslated covers the texts the assessment pages
// choose at run time, which the catalog test cannot find in the source:
// history summaries of the events an item or assessment collects, field
// names, filters and record types.
func TestAssessmentTextsTranslated(t *testing.T) {
	var keys []string
	for _, d := range audit.Definitions() {
		if d.Area == "assessment" || strings.HasPrefix(string(d.Type), "approval.") || d.Type == audit.DataExported || d.Type == audit.SettingChanged {
			keys = append(keys, d.Summary)
		}
	}
	for _, v := range fieldLabels {
		keys = append(keys, v)
	}
	for _, o := range itemFilters {
		keys = append(keys, o.Label)
	}
	keys = append(keys, control.RecordTypes()...)
	for _, k := range keys {
		if !i18n.Has(i18n.Japanese, k) {
			t.Errorf("no Japanese for %q", k)
		}
	}
}
