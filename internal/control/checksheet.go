package control

import "strings"

// StatusLabels are the names of the item statuses as people read them.
var StatusLabels = map[ItemStatus]Text{
	ItemOpen:              {"ja": "未回答", "en": "Not answered"},
	ItemImplemented:       {"ja": "対応済み", "en": "Implemented"},
	ItemPartial:           {"ja": "一部対応", "en": "Partially implemented"},
	ItemPlanned:           {"ja": "対応予定", "en": "Planned"},
	ItemNotImplemented:    {"ja": "未対応", "en": "Not implemented"},
	ItemNotApplicable:     {"ja": "該当なし", "en": "Not applicable"},
	ItemRiskAccepted:      {"ja": "リスク受容", "en": "Risk accepted"},
	ItemAcceptancePending: {"ja": "リスク受容（承認待ち・未承認）", "en": "Risk acceptance not approved"},
}

// ChartOrder is the order of statuses in charts: met first, then the gaps
// from nearly there to not started.
var ChartOrder = []ItemStatus{ItemImplemented, ItemNotApplicable, ItemRiskAccepted, ItemPartial, ItemPlanned,
	ItemAcceptancePending, ItemNotImplemented, ItemOpen}

// StatusColors are the chart colours of the statuses (RGB hex), chosen to
// stay distinguishable for the common colour-vision deficiencies.
var StatusColors = map[ItemStatus]string{
	ItemImplemented:       "1e7b45",
	ItemNotApplicable:     "8c96a3",
	ItemRiskAccepted:      "2f6ea5",
	ItemPartial:           "e0a526",
	ItemPlanned:           "f2d388",
	ItemAcceptancePending: "8e5cc2",
	ItemNotImplemented:    "b42318",
	ItemOpen:              "dfe3e8",
}

// OutLabels name why an item is out of scope.
var OutLabels = map[string]Text{
	OutTier:      {"ja": "対象外（対応が望ましい事項）", "en": "Out of scope (desirable measure)"},
	OutCondition: {"ja": "対象外（適用条件に該当しない）", "en": "Out of scope (condition does not apply)"},
	OutExcluded:  {"ja": "対象外（除外・承認済み）", "en": "Out of scope (approved exclusion)"},
}

// TierLabels name the tiers.
var TierLabels = map[Tier]Text{
	TierBasic:     {"ja": "基本的な対応事項", "en": "Basic"},
	TierDesirable: {"ja": "対応が望ましい事項", "en": "Desirable"},
}

// ProfileLabels name the profiles.
var ProfileLabels = map[Profile]Text{
	ProfileBasic:          {"ja": "基本的な対応事項のみ", "en": "Basic measures only"},
	ProfileBasicDesirable: {"ja": "基本的な対応事項＋対応が望ましい事項", "en": "Basic and desirable measures"},
	ProfileCustom:         {"ja": "カスタム（除外には根拠と承認が必要）", "en": "Custom (exclusions need a rationale and approval)"},
}

// StateLabels name the assessment states.
var StateLabels = map[State]Text{
	StateOpen:      {"ja": "回答中", "en": "Being answered"},
	StateInReview:  {"ja": "第2線レビュー中", "en": "In second-line review"},
	StateSignedOff: {"ja": "承認済み（サインオフ）", "en": "Signed off"},
}

// CheckRow is one line of a check-sheet answer: the vendor-style
// quick-answer table (項番・項目・回答・説明) a service provider hands to a
// bank's security department.
type CheckRow struct {
	Ref         string // 項番, e.g. "1-a" or "2.2.3 ③"
	Item        string // 項目: the requirement
	Answer      string // 回答: the status in words
	Explanation string // 説明
}

// CheckSheetHeader is the header row in a language.
func CheckSheetHeader(lang string) []string {
	if lang == "en" {
		return []string{"No.", "Item", "Answer", "Explanation"}
	}
	return []string{"項番", "項目", "回答", "説明"}
}

// CheckSheet returns the check-sheet answer of a report in a language:
// every item, with out-of-scope items saying why.
func (r *Report) CheckSheet(lang string) []CheckRow {
	var out []CheckRow
	for _, row := range r.Rows {
		item := row.Node.Title.Get(lang)
		if t := row.Node.Text.Get(lang); t != "" {
			item += "\n" + t
		}
		cr := CheckRow{Ref: row.Ref, Item: item, Explanation: row.Item.Explanation}
		st := row.Standing
		switch {
		case !st.InScope:
			cr.Answer = OutLabels[st.OutReason].Get(lang)
			if st.OutReason == OutExcluded && cr.Explanation == "" {
				cr.Explanation = row.Item.ExcludeReason
			}
		case st.Status == ItemPlanned && !row.Item.TargetDate.IsZero():
			cr.Answer = StatusLabels[ItemPlanned].Get(lang) + "（" + FormatDate(row.Item.TargetDate) + "）"
			if lang == "en" {
				cr.Answer = StatusLabels[ItemPlanned].Get(lang) + " (" + FormatDate(row.Item.TargetDate) + ")"
			}
		default:
			cr.Answer = StatusLabels[st.Status].Get(lang)
		}
		if st.InScope && st.Status == ItemNotApplicable && cr.Explanation == "" {
			cr.Explanation = row.Item.Rationale
		}
		cr.Explanation = strings.TrimSpace(cr.Explanation)
		out = append(out, cr)
	}
	return out
}
