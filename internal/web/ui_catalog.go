package web

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/format/catalogfile"
	"github.com/mamori-dev/mamori/internal/format/oscal"
	"github.com/mamori-dev/mamori/internal/format/sheet"
	"github.com/mamori-dev/mamori/internal/i18n"
)

// Catalogs: the shipped and imported catalogs, their trees and mappings.

type catalogsPage struct {
	Catalogs []control.CatalogInfo
}

func (s *Server) catalogs(w http.ResponseWriter, r *http.Request) {
	list, err := s.svc.Control.Catalogs(r.Context())
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.page(w, r, "catalogs", "Control catalogs", catalogsPage{Catalogs: list})
}

// readUpload returns the bytes of the multipart file field name, bounded by
// limit.
func readUpload(r *http.Request, field string, limit int64) ([]byte, string, error) {
	if r.MultipartForm == nil {
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			if errors.Is(decodeErr(err), errBodyTooLarge) {
				return nil, "", errBodyTooLarge
			}
			return nil, "", mamori.Invalid(field, "Choose a file.")
		}
	}
	f, h, err := r.FormFile(field)
	if err != nil {
		return nil, "", mamori.Invalid(field, "Choose a file.")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, "", decodeErr(err)
	}
	if int64(len(data)) > limit {
		return nil, "", mamori.Errorf(mamori.ETOOLARGE, "The file is too large.")
	}
	return data, h.Filename, nil
}

// importCatalog decodes an uploaded catalog file and stores it.
func (s *Server) importCatalog(r *http.Request, data []byte, name string, get func(string) string) (*control.StoredCatalog, error) {
	format, err := catalogfile.ParseFormat(strings.TrimSpace(orDefault(get("format"), "auto")))
	if err != nil {
		return nil, mamori.Invalid("format", "Choose the file's format.")
	}
	tiers, err := catalogfile.ParseTiers(get("tiers"))
	if err != nil {
		return nil, mamori.Invalid("tiers", "Write tiers as GROUP=basic,GROUP=desirable.")
	}
	c, got, err := catalogfile.Decode(data, catalogfile.Options{Format: format, ID: strings.TrimSpace(get("id")),
		Lang: strings.TrimSpace(get("lang")), EditionDate: strings.TrimSpace(get("edition")), Tiers: tiers})
	if err != nil {
		return nil, err
	}
	return s.svc.Control.ImportCatalog(r.Context(), c, control.ImportSource{Format: string(got), FileName: name})
}

func orDefault(v, def string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return v
}

func (s *Server) catalogImport(w http.ResponseWriter, r *http.Request) {
	data, name, err := readUpload(r, "file", control.MaxDocumentSize)
	var sc *control.StoredCatalog
	if err == nil {
		sc, err = s.importCatalog(r, data, name, r.FormValue)
	}
	if err != nil {
		list, lerr := s.svc.Control.Catalogs(r.Context())
		if lerr != nil {
			s.pageFail(w, r, err)
			return
		}
		s.formError(w, r, "catalogs", "Control catalogs", catalogsPage{Catalogs: list}, err)
		return
	}
	s.flash(w, "ok", "catalog_imported")
	http.Redirect(w, r, "/catalogs/"+url.PathEscape(sc.Key), http.StatusSeeOther)
}

type catalogPage struct {
	Catalog  *control.Catalog
	Info     control.CatalogInfo
	Lang     string // the language the catalog is shown in
	Langs    []string
	Nodes    []catalogNode
	Summary  control.Summary
	Into     map[string][]control.SourcedMapping
	Conds    map[string]control.Text
	Manage   bool
	Obligate bool
}

type catalogNode struct {
	*control.Node
	Depth  int
	Ref    string
	Hints  []control.Text
	MapsTo []control.Mapping
}

func (s *Server) catalog(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	lib, err := s.svc.Control.Library(r.Context())
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	c, err := lib.Catalog(key)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	list, err := s.svc.Control.Catalogs(r.Context())
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	pg := catalogPage{Catalog: c, Langs: c.Languages, Summary: c.Summarize(), Into: map[string][]control.SourcedMapping{},
		Conds: map[string]control.Text{}, Manage: principal(r).Actor.Can(mamori.PermCatalogManage)}
	for _, ci := range list {
		if ci.Key == c.Key() {
			pg.Info = ci
		}
	}
	pg.Lang = string(langOf(r))
	if l := r.URL.Query().Get("lang"); l != "" {
		for _, have := range c.Languages {
			if have == l {
				pg.Lang = l
			}
		}
	}
	for _, k := range c.Conditions {
		pg.Conds[k.ID] = k.Title
	}
	_ = c.Walk(func(n, _ *control.Node, depth int) error {
		cn := catalogNode{Node: n, Depth: depth, Ref: c.DisplayRef(n.ID), Hints: n.EvidenceHints, MapsTo: c.MappingsFrom(n.ID)}
		pg.Nodes = append(pg.Nodes, cn)
		if m := lib.MappingsInto(c.Framework.ID, n.ID); len(m) > 0 {
			pg.Into[n.ID] = m
		}
		return nil
	})
	pg.Obligate = len(c.Obligations()) > 0
	s.page(w, r, "catalog", c.Framework.Name.Get(pg.Lang), pg)
}

// catalogExport downloads a catalog as mamori JSON, OSCAL or XLSX.
func (s *Server) catalogExport(w http.ResponseWriter, r *http.Request) {
	c, err := s.svc.Control.Catalog(r.Context(), r.PathValue("key"))
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	data, ctype, ext, err := exportCatalog(c, r.URL.Query().Get("format"), r.URL.Query().Get("lang"), langOf(r))
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	download(w, c.Framework.ID+"-"+c.Edition.Date+ext, ctype, data)
}

func exportCatalog(c *control.Catalog, format, lang string, ui i18n.Lang) ([]byte, string, string, error) {
	var buf bytes.Buffer
	switch orDefault(format, "json") {
	case "json":
		if err := control.EncodeJSON(&buf, c); err != nil {
			return nil, "", "", err
		}
		return buf.Bytes(), "application/json", ".json", nil
	case "oscal":
		if lang != "" && lang != "ja" && lang != "en" {
			return nil, "", "", mamori.Invalid("lang", "Choose ja or en.")
		}
		if err := oscal.Encode(&buf, c, oscal.ExportOptions{Lang: lang}); err != nil {
			return nil, "", "", err
		}
		return buf.Bytes(), "application/json", ".oscal.json", nil
	case "xlsx":
		if err := sheet.WriteCatalog(&buf, c, string(ui)); err != nil {
			return nil, "", "", err
		}
		return buf.Bytes(), xlsxType, ".xlsx", nil
	}
	return nil, "", "", mamori.Invalid("format", "Choose json, oscal or xlsx.")
}

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// download sends data as a file to save, never to render: uploaded or
// exported content must not run on mamori's origin.
func download(w http.ResponseWriter, name, ctype string, data []byte) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", contentDisposition(name))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(data)
}

// contentDisposition names a download, with the RFC 5987 form for
// non-ASCII names (Japanese file names).
func contentDisposition(name string) string {
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '/' {
			return '_'
		}
		return r
	}, name)
	return `attachment; filename="` + ascii + `"; filename*=UTF-8''` + url.PathEscape(name)
}

func (s *Server) catalogDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.Control.DeleteCatalog(r.Context(), r.PathValue("key")); err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.flash(w, "ok", "catalog_deleted")
	http.Redirect(w, r, "/catalogs", http.StatusSeeOther)
}
