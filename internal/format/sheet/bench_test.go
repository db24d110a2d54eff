package sheet_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/format/sheet"
)

// bigWorkbook is a full FSA guideline assessment: 176 items, one piece of
// evidence and one task each.
func bigWorkbook() *control.Workbook {
	wb := sample()
	wb.Items, wb.Evidence, wb.Tasks = nil, nil, nil
	for i := 0; i < 176; i++ {
		id := fmt.Sprintf("FSA-CSGL-2.%d.%d-B%02d", i%6+1, i%7+1, i%10+1)
		wb.Items = append(wb.Items, control.WorkbookItem{Item: id, Ref: "2.1.1 ①", Title: "サイバーセキュリティ管理態勢の整備に関する項目", Tier: "basic",
			InScope: "yes", Status: "implemented", Owner: "owner@example.jp", DueDate: "2026-06-30",
			Explanation: "取締役会で承認した基本方針に基づき、年1回見直している。関連規程は文書管理システムで管理。", Notes: "次回見直し予定：2027年3月"})
		wb.Evidence = append(wb.Evidence, control.WorkbookEvidence{ID: fmt.Sprintf("01890000-0000-7000-8000-%012d", i), Item: id, Kind: "url",
			Title: "規程", URL: "https://intra.example.jp/doc/" + fmt.Sprint(i), EffectiveOn: "2026-04-01"})
		wb.Tasks = append(wb.Tasks, control.WorkbookTask{ID: fmt.Sprintf("01890000-0000-7000-9000-%012d", i), Item: id, Title: "改善", State: "open"})
	}
	return wb
}

func BenchmarkWriteWorkbook(b *testing.B) {
	wb := bigWorkbook()
	b.ReportAllocs()
	for b.Loop() {
		if err := sheet.WriteWorkbook(io.Discard, wb, "ja"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadWorkbook(b *testing.B) {
	var buf bytes.Buffer
	if err := sheet.WriteWorkbook(&buf, bigWorkbook(), "ja"); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sheet.ReadWorkbook(buf.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadCheckSheetCSV(b *testing.B) {
	var rows []control.CheckRow
	for i := 0; i < 176; i++ {
		rows = append(rows, checkRows()...)
	}
	var buf bytes.Buffer
	_ = sheet.WriteCheckSheetCSV(&buf, rows, "ja")
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sheet.ReadCheckSheet(buf.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
}
