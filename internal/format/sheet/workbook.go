// Package sheet reads and writes assessments as spreadsheets, the form
// Japanese auditors and vendors exchange: the whole assessment as an XLSX
// workbook (export and all-or-nothing import), and the vendor-style
// check-sheet answer (項番・項目・回答・説明) as XLSX or CSV. XLSX and CSV share
// one row-and-column model here, so that every problem in a file is named
// by its sheet, row and column. The XLSX library is excelize.
package sheet

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/control"
)

// Limits on what a reader accepts, so that a hostile file cannot exhaust
// memory: the compressed size, the unzipped size, and rows per sheet.
const (
	MaxFileSize = 32 << 20
	maxUnzipped = 256 << 20
	maxUnzipXML = 64 << 20
	MaxRows     = 20000
	maxCell     = 32767 // Excel's own limit
)

// column is one column of a sheet: its key (the field name, which the
// header carries in parentheses), its labels and its field.
type column[T any] struct {
	key, ja, en string
	width       float64
	readOnly    bool
	field       func(*T) *string
}

func (c column[T]) header(lang string) string {
	label := c.ja
	if lang == "en" {
		label = c.en
	}
	if c.readOnly {
		if lang == "en" {
			label += " [read-only]"
		} else {
			label += "［参照用］"
		}
	}
	return label + " (" + c.key + ")"
}

var itemColumns = []column[control.WorkbookItem]{
	{"item", "項目ID", "Item ID", 22, false, func(r *control.WorkbookItem) *string { return &r.Item }},
	{"ref", "項番", "Ref", 12, true, func(r *control.WorkbookItem) *string { return &r.Ref }},
	{"title", "項目", "Title", 40, true, func(r *control.WorkbookItem) *string { return &r.Title }},
	{"tier", "区分", "Tier", 10, true, func(r *control.WorkbookItem) *string { return &r.Tier }},
	{"in_scope", "評価対象", "In scope", 12, true, func(r *control.WorkbookItem) *string { return &r.InScope }},
	{"status", "対応状況", "Status", 16, false, func(r *control.WorkbookItem) *string { return &r.Status }},
	{"target_date", "対応予定日", "Target date", 12, false, func(r *control.WorkbookItem) *string { return &r.TargetDate }},
	{"rationale", "該当なしの理由", "Rationale (not applicable)", 30, false, func(r *control.WorkbookItem) *string { return &r.Rationale }},
	{"owner", "担当者（メール）", "Owner (e-mail)", 24, false, func(r *control.WorkbookItem) *string { return &r.Owner }},
	{"due_date", "期限", "Due date", 12, false, func(r *control.WorkbookItem) *string { return &r.DueDate }},
	{"explanation", "説明（回答）", "Explanation (answer)", 40, false, func(r *control.WorkbookItem) *string { return &r.Explanation }},
	{"notes", "メモ", "Notes", 30, false, func(r *control.WorkbookItem) *string { return &r.Notes }},
	{"accept_reason", "リスク受容の理由", "Risk acceptance reason", 30, false, func(r *control.WorkbookItem) *string { return &r.AcceptReason }},
	{"accept_until", "リスク受容の期限", "Risk accepted until", 12, false, func(r *control.WorkbookItem) *string { return &r.AcceptUntil }},
	{"accept_approval", "リスク受容の承認", "Acceptance approval", 12, true, func(r *control.WorkbookItem) *string { return &r.AcceptStatus }},
	{"excluded", "除外", "Excluded", 8, false, func(r *control.WorkbookItem) *string { return &r.Excluded }},
	{"exclude_reason", "除外の根拠", "Exclusion rationale", 30, false, func(r *control.WorkbookItem) *string { return &r.ExcludeReason }},
	{"exclude_until", "除外の期限", "Excluded until", 12, false, func(r *control.WorkbookItem) *string { return &r.ExcludeUntil }},
	{"exclude_approval", "除外の承認", "Exclusion approval", 12, true, func(r *control.WorkbookItem) *string { return &r.ExcludeStatus }},
	{"review", "第2線レビュー", "Second-line review", 12, true, func(r *control.WorkbookItem) *string { return &r.Review }},
	{"reviewed_by", "レビュー者", "Reviewed by", 24, true, func(r *control.WorkbookItem) *string { return &r.ReviewedBy }},
	{"review_note", "レビューコメント", "Review note", 30, true, func(r *control.WorkbookItem) *string { return &r.ReviewNote }},
}

var evidenceColumns = []column[control.WorkbookEvidence]{
	{"id", "証跡ID", "Evidence ID", 38, false, func(r *control.WorkbookEvidence) *string { return &r.ID }},
	{"item", "項目ID", "Item ID", 22, false, func(r *control.WorkbookEvidence) *string { return &r.Item }},
	{"kind", "種類", "Kind", 8, false, func(r *control.WorkbookEvidence) *string { return &r.Kind }},
	{"title", "名称", "Title", 30, false, func(r *control.WorkbookEvidence) *string { return &r.Title }},
	{"url", "URL", "URL", 30, false, func(r *control.WorkbookEvidence) *string { return &r.URL }},
	{"record_type", "記録の種類", "Record type", 14, false, func(r *control.WorkbookEvidence) *string { return &r.RecordType }},
	{"record_id", "記録ID", "Record ID", 38, false, func(r *control.WorkbookEvidence) *string { return &r.RecordID }},
	{"sha256", "ファイルのSHA-256", "File SHA-256", 20, false, func(r *control.WorkbookEvidence) *string { return &r.SHA256 }},
	{"file_name", "ファイル名", "File name", 24, false, func(r *control.WorkbookEvidence) *string { return &r.FileName }},
	{"size", "サイズ", "Size", 10, true, func(r *control.WorkbookEvidence) *string { return &r.Size }},
	{"media_type", "メディアタイプ", "Media type", 16, true, func(r *control.WorkbookEvidence) *string { return &r.MediaType }},
	{"effective_on", "有効開始日", "Effective on", 12, false, func(r *control.WorkbookEvidence) *string { return &r.EffectiveOn }},
	{"expires_on", "有効期限", "Expires on", 12, false, func(r *control.WorkbookEvidence) *string { return &r.ExpiresOn }},
	{"needs_renewal", "更新が必要", "Needs renewal", 10, false, func(r *control.WorkbookEvidence) *string { return &r.NeedsRenewal }},
	{"added_by", "登録者", "Added by", 24, true, func(r *control.WorkbookEvidence) *string { return &r.AddedBy }},
	{"added_at", "登録日時", "Added at", 20, true, func(r *control.WorkbookEvidence) *string { return &r.AddedAt }},
}

var taskColumns = []column[control.WorkbookTask]{
	{"id", "タスクID", "Task ID", 38, false, func(r *control.WorkbookTask) *string { return &r.ID }},
	{"item", "項目ID", "Item ID", 22, false, func(r *control.WorkbookTask) *string { return &r.Item }},
	{"title", "タスク", "Title", 30, false, func(r *control.WorkbookTask) *string { return &r.Title }},
	{"description", "内容", "Description", 40, false, func(r *control.WorkbookTask) *string { return &r.Description }},
	{"owner", "担当者（メール）", "Owner (e-mail)", 24, false, func(r *control.WorkbookTask) *string { return &r.Owner }},
	{"due_date", "期限", "Due date", 12, false, func(r *control.WorkbookTask) *string { return &r.DueDate }},
	{"state", "状態", "State", 8, false, func(r *control.WorkbookTask) *string { return &r.State }},
	{"done_by", "完了者", "Done by", 24, true, func(r *control.WorkbookTask) *string { return &r.DoneBy }},
	{"done_at", "完了日時", "Done at", 20, true, func(r *control.WorkbookTask) *string { return &r.DoneAt }},
	{"done_note", "完了メモ", "Done note", 30, false, func(r *control.WorkbookTask) *string { return &r.DoneNote }},
}

var scopeColumns = []column[control.ScopeEntry]{
	{"kind", "種類", "Kind", 14, false, func(r *control.ScopeEntry) *string { return (*string)(&r.Kind) }},
	{"ref", "システムID", "System ID", 38, false, func(r *control.ScopeEntry) *string { return &r.Ref }},
	{"label", "内容", "Label", 50, false, func(r *control.ScopeEntry) *string { return &r.Label }},
}

// headerFields are the rows of the Assessment sheet.
var headerFields = []column[control.WorkbookAssessment]{
	{"schema", "形式", "Format", 0, true, nil},
	{"id", "評価ID", "Assessment ID", 0, false, func(r *control.WorkbookAssessment) *string { return &r.ID }},
	{"title", "タイトル", "Title", 0, false, func(r *control.WorkbookAssessment) *string { return &r.Title }},
	{"catalog", "カタログ", "Catalog", 0, false, func(r *control.WorkbookAssessment) *string { return &r.Catalog }},
	{"profile", "評価範囲", "Profile", 0, false, func(r *control.WorkbookAssessment) *string { return (*string)(&r.Profile) }},
	{"conditions", "適用条件", "Conditions", 0, false, nil},
	{"period_start", "対象期間（開始）", "Period start", 0, false, func(r *control.WorkbookAssessment) *string { return &r.PeriodStart }},
	{"period_end", "対象期間（終了）", "Period end", 0, false, func(r *control.WorkbookAssessment) *string { return &r.PeriodEnd }},
	{"state", "状態", "State", 0, true, func(r *control.WorkbookAssessment) *string { return (*string)(&r.State) }},
	{"previous_id", "前回の評価ID", "Previous assessment", 0, true, func(r *control.WorkbookAssessment) *string { return &r.PreviousID }},
	{"signed_off_by", "サインオフ者", "Signed off by", 0, true, func(r *control.WorkbookAssessment) *string { return &r.SignedOffBy }},
	{"signed_off_at", "サインオフ日時", "Signed off at", 0, true, func(r *control.WorkbookAssessment) *string { return &r.SignedOffAt }},
}

// Sheet names.
const (
	sheetAssessment = control.SheetAssessment
	sheetScope      = "Scope"
	sheetItems      = control.SheetItems
	sheetEvidence   = control.SheetEvidence
	sheetTasks      = control.SheetTasks
	sheetReadMe     = "README"
)

// WriteWorkbook writes a whole assessment as an XLSX workbook with column
// headers in lang (ja or en). Every value is stored as text, so dates and
// IDs survive a round trip through Excel unchanged.
func WriteWorkbook(w io.Writer, wb *control.Workbook, lang string) error {
	f := excelize.NewFile()
	defer f.Close()
	st, err := newStyles(f)
	if err != nil {
		return err
	}
	if err := f.SetSheetName("Sheet1", sheetAssessment); err != nil {
		return err
	}
	// The header sheet: label (key) | value.
	_ = f.SetColWidth(sheetAssessment, "A", "A", 28)
	_ = f.SetColWidth(sheetAssessment, "B", "B", 60)
	for i, c := range headerFields {
		row := i + 1
		v := ""
		switch {
		case c.key == "schema":
			v = wb.Schema
		case c.key == "conditions":
			v = strings.Join(wb.Assessment.Conditions, ",")
		default:
			v = *c.field(&wb.Assessment)
		}
		if err := setRow(f, sheetAssessment, row, []string{c.header(lang), v}, st.text); err != nil {
			return err
		}
		_ = f.SetCellStyle(sheetAssessment, cell(1, row), cell(1, row), st.header)
	}
	if err := writeTable(f, st, sheetScope, scopeColumns, wb.Assessment.Scope, lang); err != nil {
		return err
	}
	if err := writeTable(f, st, sheetItems, itemColumns, wb.Items, lang); err != nil {
		return err
	}
	if err := writeTable(f, st, sheetEvidence, evidenceColumns, wb.Evidence, lang); err != nil {
		return err
	}
	if err := writeTable(f, st, sheetTasks, taskColumns, wb.Tasks, lang); err != nil {
		return err
	}
	// Drop-down lists where the values are a closed set.
	if n := len(wb.Items); n > 0 {
		var statuses []string
		for _, s := range control.ItemStatuses {
			statuses = append(statuses, string(s))
		}
		if err := dropList(f, sheetItems, colOf(itemColumns, "status"), n, statuses); err != nil {
			return err
		}
		if err := dropList(f, sheetItems, colOf(itemColumns, "excluded"), n, []string{"yes"}); err != nil {
			return err
		}
	}
	if err := readMe(f, lang); err != nil {
		return err
	}
	f.SetActiveSheet(0)
	return f.Write(w)
}

type styles struct{ header, text, wrap int }

func newStyles(f *excelize.File) (styles, error) {
	var s styles
	var err error
	textFmt := "@"
	if s.header, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, CustomNumFmt: &textFmt,
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DCE6F1"}},
		Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}}); err != nil {
		return s, err
	}
	if s.text, err = f.NewStyle(&excelize.Style{CustomNumFmt: &textFmt, Alignment: &excelize.Alignment{Vertical: "top"}}); err != nil {
		return s, err
	}
	s.wrap, err = f.NewStyle(&excelize.Style{CustomNumFmt: &textFmt, Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}})
	return s, err
}

func cell(col, row int) string {
	name, _ := excelize.CoordinatesToCellName(col, row)
	return name
}

func colName(col int) string {
	name, _ := excelize.ColumnNumberToName(col)
	return name
}

func colOf[T any](cols []column[T], key string) int {
	for i, c := range cols {
		if c.key == key {
			return i + 1
		}
	}
	return 0
}

func setRow(f *excelize.File, sheet string, row int, values []string, style int) error {
	for i, v := range values {
		if err := f.SetCellStr(sheet, cell(i+1, row), v); err != nil {
			return err
		}
	}
	if len(values) > 0 {
		return f.SetCellStyle(sheet, cell(1, row), cell(len(values), row), style)
	}
	return nil
}

func writeTable[T any](f *excelize.File, st styles, sheet string, cols []column[T], rows []T, lang string) error {
	if _, err := f.NewSheet(sheet); err != nil {
		return err
	}
	var head []string
	for i, c := range cols {
		head = append(head, c.header(lang))
		_ = f.SetColWidth(sheet, colName(i+1), colName(i+1), c.width)
	}
	if err := setRow(f, sheet, 1, head, st.header); err != nil {
		return err
	}
	for i := range rows {
		vals := make([]string, len(cols))
		for j, c := range cols {
			vals[j] = *c.field(&rows[i])
		}
		if err := setRow(f, sheet, i+2, vals, st.wrap); err != nil {
			return err
		}
	}
	if err := f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	return f.AutoFilter(sheet, cell(1, 1)+":"+cell(len(cols), max(len(rows)+1, 2)), nil)
}

func dropList(f *excelize.File, sheet string, col, n int, values []string) error {
	dv := excelize.NewDataValidation(true)
	dv.Sqref = cell(col, 2) + ":" + cell(col, n+1)
	if err := dv.SetDropList(values); err != nil {
		return err
	}
	return f.AddDataValidation(sheet, dv)
}

var readMeText = map[string][]string{
	"ja": {
		"mamori 自己評価ワークブック（" + control.WorkbookSchema + "）",
		"",
		"・Items シートの「対応状況」「担当者」「期限」「説明」などを編集し、mamori の評価画面または mamori assessment import で取り込めます。",
		"・列見出しの括弧内（例：(status)）が列の識別子です。列の順序は変えても構いませんが、見出しは消さないでください。",
		"・［参照用］の列は読みやすさのための写しで、取り込み時には無視されます。",
		"・対応状況：open（未回答）、implemented（対応済み）、partial（一部対応）、planned（対応予定：対応予定日が必要）、not_implemented（未対応）、not_applicable（該当なし：理由が必要）、risk_accepted（リスク受容：理由と期限が必要）。",
		"・リスク受容と除外には、申請者以外の承認が必要です。ファイルでは承認を持ち込めないため、取り込み後に mamori で承認を申請してください。",
		"・日付は YYYY-MM-DD で入力してください。担当者はメールアドレスで指定します。",
		"・取り込みは全件一括です。一つでも誤りがあれば何も変更されず、シート・行・列ごとに誤りが一覧表示されます。",
		"・証跡のファイルはワークブックに含められません。ファイルは mamori で登録してください。取り込みで証跡や課題が削除されることはありません。",
	},
	"en": {
		"mamori self-assessment workbook (" + control.WorkbookSchema + ")",
		"",
		"- Edit status, owner, due date, explanation and the other columns of the Items sheet, then import the file on the assessment page or with mamori assessment import.",
		"- The key in brackets in each header (e.g. (status)) identifies the column. You may reorder columns but keep the headers.",
		"- Columns marked [read-only] are copies for reading and are ignored on import.",
		"- Status: open, implemented, partial, planned (needs a target date), not_implemented, not_applicable (needs a rationale), risk_accepted (needs a reason and an expiry).",
		"- Risk acceptances and exclusions need the approval of someone other than the requester. Approvals cannot travel in a file: request them in mamori after the import.",
		"- Write dates as YYYY-MM-DD and owners as e-mail addresses.",
		"- An import is all or nothing: if anything is wrong, nothing changes and every problem is listed by sheet, row and column.",
		"- Evidence files cannot travel in a workbook; upload them in mamori. An import never deletes evidence or tasks.",
	},
}

func readMe(f *excelize.File, lang string) error {
	if _, err := f.NewSheet(sheetReadMe); err != nil {
		return err
	}
	_ = f.SetColWidth(sheetReadMe, "A", "A", 120)
	lines := readMeText["ja"]
	if lang == "en" {
		lines = readMeText["en"]
	}
	for i, l := range lines {
		if err := f.SetCellStr(sheetReadMe, cell(1, i+1), l); err != nil {
			return err
		}
	}
	return nil
}

// keyRE finds the column key in a header: "対応状況 (status)" or "status".
var keyRE = regexp.MustCompile(`\(([a-z_0-9]+)\)\s*$`)

func headerKey(h string) string {
	h = strings.TrimSpace(h)
	if m := keyRE.FindStringSubmatch(h); m != nil {
		return m[1]
	}
	return strings.ToLower(h)
}

// problems collects a reader's errors by place.
type problems struct {
	f    mamori.FieldErrors
	more int
}

func (p *problems) add(place, reason string) {
	if _, dup := p.f[place]; dup {
		return
	}
	if len(p.f) >= 200 {
		p.more++
		return
	}
	p.f.Add(place, reason)
}

func (p *problems) err(msg string) error {
	if len(p.f) == 0 {
		return nil
	}
	if p.more > 0 {
		p.f["…"] = fmt.Sprintf("%d more problems not shown", p.more)
	}
	e := p.f.Err().(*mamori.Error)
	e.Message = msg
	return e
}

// place names a cell for people: "Items, row 12, column H (status)".
func place(sheet string, row, col int, key string) string {
	switch {
	case row > 0 && col > 0:
		return fmt.Sprintf("%s, row %d, column %s (%s)", sheet, row, colName(col), key)
	case row > 0 && key != "":
		return fmt.Sprintf("%s, row %d (%s)", sheet, row, key)
	case row > 0:
		return fmt.Sprintf("%s, row %d", sheet, row)
	case key != "":
		return fmt.Sprintf("%s, %s", sheet, key)
	}
	return sheet
}

// openXLSX opens a workbook with size limits.
func openXLSX(data []byte) (*excelize.File, error) {
	if len(data) > MaxFileSize {
		return nil, mamori.Errorf(mamori.ETOOLARGE, "The file is larger than %d MiB.", MaxFileSize>>20)
	}
	if !bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return nil, mamori.Errorf(mamori.EINVALID, "The file is not an XLSX workbook.")
	}
	f, err := openReader(data)
	if err != nil {
		return nil, mamori.Wrap(mamori.EINVALID, err, "The file is not a readable XLSX workbook.")
	}
	return f, nil
}

// openReader calls excelize, turning a panic on a malformed file into an
// error: bad input must never crash mamori.
func openReader(data []byte) (f *excelize.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("the XLSX reader failed on this file (%v)", r)
		}
	}()
	return excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: maxUnzipped, UnzipXMLSizeLimit: maxUnzipXML})
}

// getRows reads a sheet's rows with a row limit; a missing sheet is nil.
func getRows(f *excelize.File, sheet string) (rows [][]string, err error) {
	defer func() {
		if r := recover(); r != nil {
			rows, err = nil, fmt.Errorf("the XLSX reader failed on sheet %s (%v)", sheet, r)
		}
	}()
	if idx, err := f.GetSheetIndex(sheet); err != nil || idx < 0 {
		return nil, nil
	}
	it, err := f.Rows(sheet)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	for it.Next() {
		if len(rows) > MaxRows {
			return nil, mamori.Errorf(mamori.ETOOLARGE, "Sheet %s has more than %d rows.", sheet, MaxRows)
		}
		cols, err := it.Columns()
		if err != nil {
			return nil, err
		}
		rows = append(rows, cols)
	}
	return rows, it.Error()
}

// cleanCell checks one cell's text and normalises dates typed as
// YYYY/MM/DD.
func cleanCell(p *problems, where, v string) string {
	if !utf8.ValidString(v) {
		p.add(where, "The text is not valid UTF-8.")
		return ""
	}
	if len(v) > maxCell {
		p.add(where, "The cell is longer than Excel allows.")
		return ""
	}
	return strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n"))
}

var slashDate = regexp.MustCompile(`^(\d{4})/(\d{1,2})/(\d{1,2})$`)

func normaliseDate(v string) string {
	if m := slashDate.FindStringSubmatch(v); m != nil {
		return fmt.Sprintf("%s-%02s-%02s", m[1], m[2], m[3])
	}
	return v
}

func isDateKey(key string) bool {
	return strings.HasSuffix(key, "_date") || strings.HasSuffix(key, "_until") || strings.HasSuffix(key, "_on") ||
		key == "period_start" || key == "period_end"
}

// readTable maps a sheet's rows into values through its columns.
func readTable[T any](p *problems, sheet string, rows [][]string, cols []column[T], required []string, setRow func(*T, int)) []T {
	if len(rows) == 0 {
		p.add(place(sheet, 0, 0, ""), "The sheet is missing or has no header row.")
		return nil
	}
	idx := map[string]int{} // key → 0-based column
	for i, h := range rows[0] {
		k := headerKey(h)
		if k == "" {
			continue
		}
		if _, dup := idx[k]; dup {
			p.add(place(sheet, 1, i+1, k), "This column appears twice.")
			continue
		}
		idx[k] = i
	}
	for _, k := range required {
		if _, ok := idx[k]; !ok {
			p.add(place(sheet, 1, 0, k), "This column is missing.")
		}
	}
	var out []T
	for r := 1; r < len(rows); r++ {
		row := rows[r]
		blank := true
		for _, v := range row {
			if strings.TrimSpace(v) != "" {
				blank = false
				break
			}
		}
		if blank {
			continue
		}
		var v T
		for _, c := range cols {
			i, ok := idx[c.key]
			if !ok || i >= len(row) {
				continue
			}
			s := cleanCell(p, place(sheet, r+1, i+1, c.key), row[i])
			if isDateKey(c.key) {
				s = normaliseDate(s)
			}
			*c.field(&v) = s
		}
		if setRow != nil {
			setRow(&v, r+1)
		}
		out = append(out, v)
	}
	return out
}

// ReadWorkbook reads an assessment workbook written by WriteWorkbook (and
// edited by people). It checks the structure (sheets, columns, sizes, text);
// the answers themselves are checked by control.Service.ImportWorkbook,
// which names each problem through the returned workbook's Where.
func ReadWorkbook(data []byte) (*control.Workbook, error) {
	f, err := openXLSX(data)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p := &problems{f: mamori.FieldErrors{}}
	wb := &control.Workbook{}
	cols := map[string]map[string]int{} // sheet → key → column (1-based), for Where

	head, err := getRows(f, sheetAssessment)
	if err != nil {
		return nil, mamori.Wrap(mamori.EINVALID, err, "The workbook cannot be read.")
	}
	if head == nil {
		p.add(place(sheetAssessment, 0, 0, ""), "The sheet is missing.")
	}
	seen := map[string]int{}
	headerRow := map[string]int{}
	for r, row := range head {
		if len(row) == 0 {
			continue
		}
		k := headerKey(row[0])
		if k == "" {
			continue
		}
		if _, dup := seen[k]; dup {
			p.add(place(sheetAssessment, r+1, 1, k), "This row appears twice.")
			continue
		}
		seen[k] = r + 1
		headerRow[k] = r + 1
		v := ""
		if len(row) > 1 {
			v = cleanCell(p, place(sheetAssessment, r+1, 2, k), row[1])
		}
		if isDateKey(k) {
			v = normaliseDate(v)
		}
		switch k {
		case "schema":
			wb.Schema = v
		case "conditions":
			wb.Assessment.Conditions = []string{}
			for _, c := range strings.Split(v, ",") {
				if c = strings.TrimSpace(c); c != "" {
					wb.Assessment.Conditions = append(wb.Assessment.Conditions, c)
				}
			}
		default:
			for _, c := range headerFields {
				if c.key == k && c.field != nil {
					*c.field(&wb.Assessment) = v
				}
			}
		}
	}
	for _, k := range []string{"schema", "catalog", "title", "profile", "period_start", "period_end"} {
		if _, ok := seen[k]; !ok && head != nil {
			p.add(place(sheetAssessment, 0, 0, k), "This row is missing.")
		}
	}
	if wb.Assessment.Conditions == nil {
		wb.Assessment.Conditions = []string{}
	}

	read := func(sheet string) [][]string {
		rows, err := getRows(f, sheet)
		if err != nil {
			p.add(place(sheet, 0, 0, ""), mamori.ErrorMessage(err))
			return nil
		}
		if len(rows) > 0 {
			cols[sheet] = map[string]int{}
			for i, h := range rows[0] {
				cols[sheet][headerKey(h)] = i + 1
			}
		}
		return rows
	}
	wb.Assessment.Scope = readTable(p, sheetScope, read(sheetScope), scopeColumns, []string{"kind"}, nil)
	if wb.Assessment.Scope == nil {
		wb.Assessment.Scope = []control.ScopeEntry{}
	}
	wb.Items = readTable(p, sheetItems, read(sheetItems), itemColumns, []string{"item", "status"}, func(v *control.WorkbookItem, r int) { v.Row = r })
	wb.Evidence = readTable(p, sheetEvidence, read(sheetEvidence), evidenceColumns, []string{"id", "item", "kind"}, func(v *control.WorkbookEvidence, r int) { v.Row = r })
	wb.Tasks = readTable(p, sheetTasks, read(sheetTasks), taskColumns, []string{"id", "title"}, func(v *control.WorkbookTask, r int) { v.Row = r })
	if wb.Items == nil {
		wb.Items = []control.WorkbookItem{}
	}
	if wb.Evidence == nil {
		wb.Evidence = []control.WorkbookEvidence{}
	}
	if wb.Tasks == nil {
		wb.Tasks = []control.WorkbookTask{}
	}
	if err := p.err("The workbook cannot be imported; nothing was changed."); err != nil {
		return nil, err
	}
	wb.Where = func(sheet string, row int, field string) string {
		if sheet == sheetAssessment {
			key := field
			if strings.HasPrefix(field, "scope") {
				return place(sheetScope, 0, 0, field)
			}
			if r, ok := headerRow[key]; ok {
				return place(sheetAssessment, r, 2, key)
			}
			return place(sheetAssessment, 0, 0, key)
		}
		return place(sheet, row, cols[sheet][field], field)
	}
	return wb, nil
}
