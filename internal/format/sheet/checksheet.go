package sheet

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/control"
)

const sheetCheck = "CheckSheet"

// utf8BOM makes Excel open a CSV file as UTF-8 (Japanese text otherwise
// turns into mojibake).
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// WriteCheckSheetXLSX writes a check-sheet answer as an XLSX workbook:
// a title line, the header (項番・項目・回答・説明) and one row per item.
func WriteCheckSheetXLSX(w io.Writer, title string, rows []control.CheckRow, lang string) error {
	f := excelize.NewFile()
	defer f.Close()
	st, err := newStyles(f)
	if err != nil {
		return err
	}
	if err := f.SetSheetName("Sheet1", sheetCheck); err != nil {
		return err
	}
	for i, wdt := range []float64{12, 60, 22, 60} {
		_ = f.SetColWidth(sheetCheck, colName(i+1), colName(i+1), wdt)
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 13}})
	if err != nil {
		return err
	}
	if err := f.SetCellStr(sheetCheck, "A1", title); err != nil {
		return err
	}
	_ = f.SetCellStyle(sheetCheck, "A1", "A1", bold)
	if err := setRow(f, sheetCheck, 3, control.CheckSheetHeader(lang), st.header); err != nil {
		return err
	}
	for i, r := range rows {
		if err := setRow(f, sheetCheck, i+4, []string{r.Ref, r.Item, r.Answer, r.Explanation}, st.wrap); err != nil {
			return err
		}
	}
	if err := f.SetPanes(sheetCheck, &excelize.Panes{Freeze: true, YSplit: 3, TopLeftCell: "A4", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	return f.Write(w)
}

// WriteCheckSheetCSV writes a check-sheet answer as CSV (UTF-8 with a byte
// order mark, CRLF line ends, as Excel expects). Cells that a spreadsheet
// would run as a formula are prefixed with an apostrophe.
func WriteCheckSheetCSV(w io.Writer, rows []control.CheckRow, lang string) error {
	if _, err := w.Write(utf8BOM); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(control.CheckSheetHeader(lang)); err != nil {
		return err
	}
	for _, r := range rows {
		if err := cw.Write([]string{defuse(r.Ref), defuse(r.Item), defuse(r.Answer), defuse(r.Explanation)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// defuse keeps a cell from being read as a formula (CSV injection).
func defuse(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func undefuse(s string) string {
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune("=+-@\t\r", rune(s[1])) {
		return s[1:]
	}
	return s
}

// checkHeaders are the header cells a check sheet may carry, per column.
var checkHeaders = [4][]string{
	{"項番", "no.", "no", "ref", "番号"},
	{"項目", "item", "要件", "requirement"},
	{"回答", "answer", "対応状況", "status"},
	{"説明", "explanation", "備考", "comment", "解説"},
}

// ReadCheckSheet reads a check-sheet answer, as XLSX or CSV, written by
// mamori or by a vendor following its layout: a header row naming the four
// columns (in Japanese or English) and one row per item. It returns the
// rows, or an error naming every bad row and column.
func ReadCheckSheet(data []byte) ([]control.CheckRow, error) {
	if len(data) > MaxFileSize {
		return nil, mamori.Errorf(mamori.ETOOLARGE, "The file is larger than %d MiB.", MaxFileSize>>20)
	}
	var rows [][]string
	sheet := "CSV"
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		f, err := openXLSX(data)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		names := f.GetSheetList()
		if len(names) == 0 {
			return nil, mamori.Errorf(mamori.EINVALID, "The workbook has no sheets.")
		}
		sheet = names[0]
		if rows, err = getRows(f, sheet); err != nil {
			return nil, mamori.Wrap(mamori.EINVALID, err, "The workbook cannot be read.")
		}
	} else {
		var err error
		if rows, err = readCSV(data); err != nil {
			return nil, err
		}
	}
	p := &problems{f: mamori.FieldErrors{}}
	head := -1
	for i, r := range rows {
		if i > 20 {
			break
		}
		if isCheckHeader(r) {
			head = i
			break
		}
	}
	if head < 0 {
		return nil, mamori.Errorf(mamori.EINVALID, "No header row (項番, 項目, 回答, 説明) was found in the first 20 rows.")
	}
	var out []control.CheckRow
	for i := head + 1; i < len(rows); i++ {
		r := rows[i]
		vals := make([]string, 4)
		blank := true
		for j := 0; j < 4 && j < len(r); j++ {
			vals[j] = undefuse(cleanCell(p, place(sheet, i+1, j+1, checkKeys[j]), r[j]))
			if vals[j] != "" {
				blank = false
			}
		}
		if blank {
			continue
		}
		for j := 4; j < len(r); j++ {
			if strings.TrimSpace(r[j]) != "" {
				p.add(place(sheet, i+1, j+1, "extra"), "The check sheet has four columns; this cell is outside them.")
			}
		}
		if vals[0] == "" {
			p.add(place(sheet, i+1, 1, checkKeys[0]), "Every row needs its item number.")
		}
		if vals[2] == "" {
			p.add(place(sheet, i+1, 3, checkKeys[2]), "Every row needs an answer.")
		}
		out = append(out, control.CheckRow{Ref: vals[0], Item: vals[1], Answer: vals[2], Explanation: vals[3]})
	}
	if err := p.err("The check sheet cannot be read."); err != nil {
		return nil, err
	}
	return out, nil
}

var checkKeys = [4]string{"no", "item", "answer", "explanation"}

func isCheckHeader(r []string) bool {
	if len(r) < 4 {
		return false
	}
	for i := 0; i < 4; i++ {
		ok := false
		for _, h := range checkHeaders[i] {
			if strings.EqualFold(strings.TrimSpace(r[i]), h) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// readCSV reads CSV in UTF-8 (with or without a byte order mark).
func readCSV(data []byte) ([][]string, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if !utf8.Valid(data) {
		return nil, mamori.Errorf(mamori.EINVALID, "The CSV file is not UTF-8. Save it as \"CSV UTF-8\".")
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = false
	var rows [][]string
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, mamori.Invalid(fmt.Sprintf("CSV, row %d, column %d (%v)", pe.Line, pe.Column, pe.Err), "The CSV is malformed here.")
			}
			return nil, mamori.Wrap(mamori.EINVALID, err, "The CSV file cannot be read.")
		}
		if len(rows) >= MaxRows {
			return nil, mamori.Errorf(mamori.ETOOLARGE, "The file has more than %d rows.", MaxRows)
		}
		rows = append(rows, rec)
	}
	return rows, nil
}
