package sheet

import (
	"io"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/mamori-dev/mamori/internal/control"
)

// WriteCatalog writes a catalog as one XLSX sheet, a row per node in
// document order with its text in every language, for reading and for
// preparing work outside mamori. (Catalogs are imported as mamori JSON,
// OSCAL or CISO Assistant files, which keep what a flat sheet cannot.)
func WriteCatalog(w io.Writer, c *control.Catalog, lang string) error {
	f := excelize.NewFile()
	defer f.Close()
	st, err := newStyles(f)
	if err != nil {
		return err
	}
	const name = "Catalog"
	if err := f.SetSheetName("Sheet1", name); err != nil {
		return err
	}
	head := []string{"ID", "Kind", "Ref", "Tier", "Frequency", "Applicability"}
	if lang != "en" {
		head = []string{"ID", "種別", "項番", "区分", "頻度", "適用条件"}
	}
	for _, l := range c.Languages {
		if lang != "en" {
			head = append(head, "タイトル ("+l+")", "本文 ("+l+")", "証跡の例 ("+l+")")
		} else {
			head = append(head, "Title ("+l+")", "Text ("+l+")", "Evidence hints ("+l+")")
		}
	}
	if err := setRow(f, name, 1, head, st.header); err != nil {
		return err
	}
	widths := []float64{24, 8, 12, 12, 20, 16}
	for range c.Languages {
		widths = append(widths, 36, 60, 40)
	}
	for i, wd := range widths {
		_ = f.SetColWidth(name, colName(i+1), colName(i+1), wd)
	}
	row := 2
	err = c.Walk(func(n, _ *control.Node, depth int) error {
		var apps []string
		for _, a := range n.Applicability {
			apps = append(apps, a.Condition+":"+string(a.Scope))
		}
		tier := ""
		if n.Tier != "" {
			tier = control.TierLabels[n.Tier].Get(lang)
		}
		vals := []string{n.ID, string(n.Kind), strings.Repeat("  ", depth-1) + c.DisplayRef(n.ID), tier, n.Freq.Describe(lang), strings.Join(apps, ", ")}
		for _, l := range c.Languages {
			var hints []string
			for _, h := range n.EvidenceHints {
				hints = append(hints, "・"+h[l])
			}
			vals = append(vals, n.Title[l], n.Text[l], strings.Join(hints, "\n"))
		}
		if err := setRow(f, name, row, vals, st.wrap); err != nil {
			return err
		}
		row++
		return nil
	})
	if err != nil {
		return err
	}
	if err := f.SetPanes(name, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	return f.Write(w)
}
