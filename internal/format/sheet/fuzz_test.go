package sheet_test

import (
	"bytes"
	"testing"

	"github.com/mamori-dev/mamori/internal/format/sheet"
)

// FuzzReadWorkbook: no input may crash the workbook reader.
func FuzzReadWorkbook(f *testing.F) {
	var buf bytes.Buffer
	if err := sheet.WriteWorkbook(&buf, sample(), "ja"); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:len(buf.Bytes())/3])
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		wb, err := sheet.ReadWorkbook(data)
		if err == nil && wb.Where == nil {
			t.Fatal("a workbook without Where")
		}
	})
}

// FuzzReadCheckSheet: no input may crash the check-sheet reader, CSV or
// XLSX.
func FuzzReadCheckSheet(f *testing.F) {
	var csvBuf, xlsxBuf bytes.Buffer
	if err := sheet.WriteCheckSheetCSV(&csvBuf, checkRows(), "ja"); err != nil {
		f.Fatal(err)
	}
	if err := sheet.WriteCheckSheetXLSX(&xlsxBuf, "t", checkRows(), "en"); err != nil {
		f.Fatal(err)
	}
	f.Add(csvBuf.Bytes())
	f.Add(xlsxBuf.Bytes())
	f.Add([]byte("項番,項目,回答,説明\n\"a\"\"b\",x,y,z\n"))
	f.Add([]byte("No.,Item,Answer,Explanation\r\n'=1,,,\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := sheet.ReadCheckSheet(data)
		if err == nil {
			for _, r := range rows {
				if r.Ref == "" || r.Answer == "" {
					t.Fatalf("accepted a row without number or answer: %+v", r)
				}
			}
		}
	})
}
