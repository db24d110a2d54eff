package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/format/catalogfile"
	"github.com/mamori-dev/mamori/internal/format/oscal"
	"github.com/mamori-dev/mamori/internal/format/sheet"
	"github.com/mamori-dev/mamori/internal/store"
)

type subcommand struct {
	name, synopsis, summary string
	run                     func(ctx context.Context, e *env, args []string) error
}

// catalogCommands are the subcommands of "mamori catalog".
func catalogCommands() []subcommand {
	return []subcommand{
		{"list", "[--lang ja|en] [--json] [--data-dir DIR | --database-url URL]", "list the catalogs (shipped and imported) with their item counts by tier", runCatalogList},
		{"show", "<id> [--lang ja|en] [--data-dir DIR | --database-url URL]", "print a catalog's tree", runCatalogShow},
		{"export", "<id> [--format json|oscal|xlsx] [--lang ja|en] [--out FILE] [--data-dir DIR | --database-url URL]", "export a whole catalog", runCatalogExport},
		{"import", "FILE [--dry-run] [--format auto|mamori-json|mamori-yaml|oscal|ciso-assistant] [--id ID] [--lang L] [--edition DATE] [--tiers G=basic,…] [--json] [--data-dir DIR | --database-url URL]", "check a catalog file and store it in the database (all or nothing; --dry-run only reports)", runCatalogImport},
		{"due", "<id> --start DATE [--done ID=DATE,…] [--every ID=P1Y,…] [--today DATE] [--tier T] [--json] [--data-dir DIR | --database-url URL]", "list the recurring obligations of a catalog with their due dates", runCatalogDue},
	}
}

func runCatalog(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(e.stdout, "Usage: mamori catalog <subcommand> [flags]\n\nSubcommands:")
		for _, c := range catalogCommands() {
			fmt.Fprintf(e.stdout, "  %-7s %s\n", c.name, c.summary)
		}
		if len(args) == 0 {
			return &ExitError{Code: exitUsage}
		}
		return nil
	}
	for _, c := range catalogCommands() {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	return usagef("unknown subcommand %q (run 'mamori catalog help')", args[0])
}

func catalogFlagSet(e *env, sub string) *flag.FlagSet {
	for _, c := range catalogCommands() {
		if c.name == sub {
			return newFlagSet(e, "catalog "+sub, c.synopsis)
		}
	}
	return newFlagSet(e, "catalog "+sub, "")
}

func checkLang(lang string) error {
	if lang != "ja" && lang != "en" {
		return usagef("--lang must be ja or en")
	}
	return nil
}

func runCatalogList(ctx context.Context, e *env, args []string) error {
	fs := catalogFlagSet(e, "list")
	lang := fs.String("lang", "ja", "language of the names (ja or en)")
	asJSON := fs.Bool("json", false, "print JSON")
	var sf storeFlags
	sf.register(fs)
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef("list takes no arguments")
	}
	if err := checkLang(*lang); err != nil {
		return err
	}
	infos, err := catalogInfos(ctx, e, sf)
	if err != nil {
		return err
	}
	type row struct {
		ID      string         `json:"id"`
		Edition string         `json:"edition"`
		Name    control.Text   `json:"name"`
		Counts  control.Counts `json:"counts"`
		Origin  string         `json:"origin"`
	}
	var rows []row
	for _, c := range infos {
		origin := "shipped"
		if !c.Shipped {
			origin = "imported"
		}
		rows = append(rows, row{c.ID, c.Edition, c.Name, c.Counts, origin})
	}
	if *asJSON {
		return writeJSON(e.stdout, rows)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEDITION\tITEMS\tBASIC\tDESIRABLE\tORIGIN\tNAME")
	for _, r := range rows {
		basic, desirable := "-", "-"
		if len(r.Counts.ByTier) > 0 {
			basic, desirable = fmt.Sprint(r.Counts.ByTier[control.TierBasic]), fmt.Sprint(r.Counts.ByTier[control.TierDesirable])
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", r.ID, r.Edition, r.Counts.Items, basic, desirable, r.Origin, r.Name.Get(*lang))
	}
	return tw.Flush()
}

// existingStore opens the configured database if there is one: PostgreSQL
// when a URL is set, SQLite when its file exists. Reading catalogs never
// creates a database; it returns nil when there is none.
func existingStore(ctx context.Context, e *env, sf storeFlags) (*store.DB, error) {
	cfg, err := sf.load(e, nil)
	if err != nil {
		return nil, err
	}
	if cfg.DatabaseURL == "" {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, store.SQLiteFile)); err != nil {
			return nil, nil
		}
	}
	return openStore(ctx, cfg, false, nil)
}

// catalogService returns the catalog service over the existing database,
// or nil (shipped catalogs only), and a function to close it.
func catalogService(ctx context.Context, e *env, sf storeFlags) (*control.Service, func(), error) {
	db, err := existingStore(ctx, e, sf)
	if err != nil || db == nil {
		return nil, func() {}, err
	}
	return control.NewService(db, nil, nil, nil, nil), func() { db.Close() }, nil
}

// catalogInfos lists the shipped catalogs and those in the database.
func catalogInfos(ctx context.Context, e *env, sf storeFlags) ([]control.CatalogInfo, error) {
	svc, done, err := catalogService(ctx, e, sf)
	if err != nil {
		return nil, err
	}
	defer done()
	if svc != nil {
		return svc.Catalogs(mamori.WithActor(ctx, mamori.SystemActor()))
	}
	lib, err := control.Shipped()
	if err != nil {
		return nil, err
	}
	var out []control.CatalogInfo
	for _, c := range lib.List() {
		out = append(out, control.CatalogInfo{Key: c.Key(), ID: c.Framework.ID, Edition: c.Edition.Date, Name: c.Framework.Name, Counts: c.Count(), Shipped: true})
	}
	return out, nil
}

// findCatalog finds a catalog, shipped or in the database, by ID or key.
func findCatalog(ctx context.Context, e *env, sf storeFlags, id string) (*control.Catalog, error) {
	svc, done, err := catalogService(ctx, e, sf)
	if err != nil {
		return nil, err
	}
	defer done()
	if svc != nil {
		return svc.Catalog(mamori.WithActor(ctx, mamori.SystemActor()), id)
	}
	lib, err := control.Shipped()
	if err != nil {
		return nil, err
	}
	return lib.Catalog(id)
}

func oneArg(fs *flag.FlagSet, args []string, what string) (string, error) {
	rest, err := parseFlags(fs, args)
	if err != nil {
		return "", err
	}
	if len(rest) != 1 {
		return "", usagef("give exactly one %s", what)
	}
	return rest[0], nil
}

func runCatalogShow(ctx context.Context, e *env, args []string) error {
	fs := catalogFlagSet(e, "show")
	lang := fs.String("lang", "ja", "language (ja or en)")
	var sf storeFlags
	sf.register(fs)
	id, err := oneArg(fs, args, "catalog id")
	if err != nil {
		return err
	}
	if err := checkLang(*lang); err != nil {
		return err
	}
	c, err := findCatalog(ctx, e, sf, id)
	if err != nil {
		return err
	}
	w := &bytes.Buffer{}
	k := c.Count()
	fmt.Fprintf(w, "%s — %s (%s)\n", c.Key(), c.Framework.Name.Get(*lang), tierSummary(k, *lang))
	_ = c.Walk(func(n, _ *control.Node, depth int) error {
		indent := strings.Repeat("  ", depth-1)
		mark := ""
		switch n.Tier {
		case control.TierBasic:
			mark = " [" + control.Text{"ja": "基本", "en": "basic"}.Get(*lang) + "]"
		case control.TierDesirable:
			mark = " [" + control.Text{"ja": "望ましい", "en": "desirable"}.Get(*lang) + "]"
		}
		if !n.AppliesAlways() {
			mark += " [" + control.Text{"ja": "条件付き", "en": "conditional"}.Get(*lang) + "]"
		}
		fmt.Fprintf(w, "%s%s %s%s  (%s)\n", indent, n.Ref, n.Title.Get(*lang), mark, n.ID)
		return nil
	})
	_, err = e.stdout.Write(w.Bytes())
	return err
}

func tierSummary(k control.Counts, lang string) string {
	if len(k.ByTier) == 0 {
		return fmt.Sprintf(control.Text{"ja": "%d項目", "en": "%d items"}.Get(lang), k.Items)
	}
	return fmt.Sprintf(control.Text{"ja": "%d項目：基本%d、望ましい%d", "en": "%d items: %d basic, %d desirable"}.Get(lang),
		k.Items, k.ByTier[control.TierBasic], k.ByTier[control.TierDesirable])
}

func runCatalogExport(ctx context.Context, e *env, args []string) error {
	fs := catalogFlagSet(e, "export")
	format := fs.String("format", "json", "json (mamori's shape), oscal (OSCAL 1.1 catalog JSON) or xlsx (a sheet for reading)")
	var sf storeFlags
	sf.register(fs)
	lang := fs.String("lang", "", "OSCAL only: language of the standard fields (default: the catalog's primary language)")
	out := fs.String("out", "", "write to FILE instead of standard output")
	id, err := oneArg(fs, args, "catalog id")
	if err != nil {
		return err
	}
	if *lang != "" {
		if err := checkLang(*lang); err != nil {
			return err
		}
	}
	c, err := findCatalog(ctx, e, sf, id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	switch *format {
	case "json":
		if *lang != "" {
			return usagef("--lang applies to --format oscal only; the JSON export holds every language")
		}
		err = control.EncodeJSON(&buf, c)
	case "oscal":
		err = oscal.Encode(&buf, c, oscal.ExportOptions{Lang: *lang})
	case "xlsx":
		l := *lang
		if l == "" {
			l = c.PrimaryLanguage()
		}
		err = sheet.WriteCatalog(&buf, c, l)
	default:
		return usagef("--format must be json, oscal or xlsx")
	}
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = e.stdout.Write(buf.Bytes())
		return err
	}
	return writeFileAtomic(*out, buf.Bytes())
}

// writeFileAtomic writes through a temporary file and a rename, so that a
// failed export never leaves half a file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// importReport is what "catalog import --dry-run" prints.
type importReport struct {
	File      string              `json:"file"`
	Format    catalogfile.Format  `json:"format"`
	Key       string              `json:"key"`
	Name      control.Text        `json:"name"`
	Languages []string            `json:"languages"`
	Sections  int                 `json:"sections"`
	Counts    control.Counts      `json:"counts"`
	Areas     []control.AreaCount `json:"areas,omitempty"`
	Mappings  int                 `json:"mappings"`
	Notes     []string            `json:"notes,omitempty"`
	DryRun    bool                `json:"dry_run"`
	SHA256    string              `json:"sha256,omitempty"`
}

func runCatalogImport(ctx context.Context, e *env, args []string) error {
	fs := catalogFlagSet(e, "import")
	var sf storeFlags
	sf.register(fs)
	dry := fs.Bool("dry-run", false, "parse and validate only; report what would be imported and store nothing")
	format := fs.String("format", "auto", "auto, mamori-json, mamori-yaml, oscal or ciso-assistant")
	id := fs.String("id", "", "framework ID to give the catalog (OSCAL, CISO Assistant)")
	lang := fs.String("lang", "", "language of a foreign OSCAL catalog (default en)")
	edition := fs.String("edition", "", "edition date YYYY-MM-DD when the file has none")
	tiers := fs.String("tiers", "", "CISO Assistant: implementation groups as tiers, e.g. S=basic,R=desirable")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	file, err := oneArg(fs, args, "FILE")
	if err != nil {
		return err
	}
	f, err := catalogfile.ParseFormat(*format)
	if err != nil {
		return err
	}
	tierMap, err := catalogfile.ParseTiers(*tiers)
	if err != nil {
		return err
	}
	data, err := readLimited(file, control.MaxDocumentSize)
	if err != nil {
		return err
	}
	c, got, err := catalogfile.Decode(data, catalogfile.Options{Format: f, ID: *id, Lang: *lang, EditionDate: *edition, Tiers: tierMap})
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	s := c.Summarize()
	rep := importReport{File: file, Format: got, Key: c.Key(), Name: c.Framework.Name, Languages: c.Languages,
		Sections: s.Sections, Counts: s.Counts, Areas: s.Areas, Mappings: len(c.Mappings), DryRun: *dry}
	sys := mamori.WithActor(ctx, mamori.SystemActor())
	if *dry {
		// Mappings resolve against what is there: the shipped catalogs
		// and, when a database exists, the imported ones.
		svc, done, err := catalogService(ctx, e, sf)
		if err != nil {
			return err
		}
		defer done()
		lib, err := control.Shipped()
		if svc != nil {
			lib, err = svc.Library(sys)
		}
		if err != nil {
			return err
		}
		if err := control.ValidateMappings(c, lib); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if prev, err := lib.Catalog(c.Key()); err == nil && prev.Key() == c.Key() {
			rep.Notes = append(rep.Notes, "A catalog with this ID and edition already exists; importing it would be refused.")
		}
	} else {
		cfg, err := sf.load(e, nil)
		if err != nil {
			return err
		}
		db, err := openStore(ctx, cfg, true, nil)
		if err != nil {
			return err
		}
		defer db.Close()
		sc, err := control.NewService(db, nil, nil, nil, nil).ImportCatalog(sys, c, control.ImportSource{Format: string(got), FileName: file})
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		rep.SHA256 = sc.SHA256
	}
	if *asJSON {
		return writeJSON(e.stdout, rep)
	}
	w := e.stdout
	verb := "Imported"
	if *dry {
		verb = "Would import"
	}
	fmt.Fprintf(w, "%s %s (%s) from %s\n", verb, rep.Key, c.Framework.Name.Get(c.PrimaryLanguage()), rep.Format)
	fmt.Fprintf(w, "  languages: %s\n", strings.Join(rep.Languages, ", "))
	fmt.Fprintf(w, "  sections:  %d\n", rep.Sections)
	fmt.Fprintf(w, "  items:     %s\n", tierSummary(rep.Counts, "en"))
	for _, a := range rep.Areas {
		ref := a.Ref
		if ref == "" {
			ref = a.ID
		}
		fmt.Fprintf(w, "    %-10s %s — %s\n", ref, a.Title.Get(c.PrimaryLanguage()), tierSummary(a.Counts, "en"))
	}
	fmt.Fprintf(w, "  mappings:  %d (all resolve)\n", rep.Mappings)
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	if *dry {
		fmt.Fprintln(w, "Dry run: nothing was stored.")
	} else {
		fmt.Fprintf(w, "Stored in the database (SHA-256 %s).\n", rep.SHA256)
	}
	return nil
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, mamori.Wrap(mamori.EINVALID, err, fmt.Sprintf("Cannot open %s.", path))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, mamori.Errorf(mamori.ETOOLARGE, "%s is larger than %d MiB.", path, limit>>20)
	}
	return data, nil
}

func runCatalogDue(ctx context.Context, e *env, args []string) error {
	fs := catalogFlagSet(e, "due")
	var sf storeFlags
	sf.register(fs)
	start := fs.String("start", "", "start of the assessment period, YYYY-MM-DD (e.g. the fiscal year's first day)")
	done := fs.String("done", "", "last completions, ID=DATE,…")
	every := fs.String("every", "", "intervals chosen for periodic items, ID=P1Y,…")
	today := fs.String("today", "", "date to judge overdue items against (default: today)")
	tier := fs.String("tier", "", "only items of this tier (basic or desirable)")
	asJSON := fs.Bool("json", false, "print JSON")
	id, err := oneArg(fs, args, "catalog id")
	if err != nil {
		return err
	}
	in := control.ScheduleInput{LastDone: map[string]time.Time{}, Intervals: map[string]control.Interval{}, Today: time.Now()}
	if in.PeriodStart, err = time.Parse(time.DateOnly, *start); err != nil {
		return usagef("--start must be a date like 2025-04-01")
	}
	if *today != "" {
		if in.Today, err = time.Parse(time.DateOnly, *today); err != nil {
			return usagef("--today must be a date like 2025-09-30")
		}
	}
	if err := pairs(*done, func(k, v string) error {
		t, err := time.Parse(time.DateOnly, v)
		in.LastDone[k] = t
		return err
	}); err != nil {
		return usagef("--done must look like ID=2025-06-30,…: %v", err)
	}
	if err := pairs(*every, func(k, v string) error {
		iv, err := control.ParseInterval(v)
		in.Intervals[k] = iv
		return err
	}); err != nil {
		return usagef("--every must look like ID=P1Y,…: %v", err)
	}
	c, err := findCatalog(ctx, e, sf, id)
	if err != nil {
		return err
	}
	for k := range in.LastDone {
		if !c.Has(k) {
			return mamori.Invalid("done", fmt.Sprintf("%s is not an item of %s", k, c.Framework.ID))
		}
	}
	var obs []control.Obligation
	for _, o := range c.Obligations() {
		if *tier == "" || string(o.Tier) == *tier {
			obs = append(obs, o)
		}
	}
	due, err := control.Schedule(obs, in)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, due)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DUE\tSTATUS\tEVERY\tITEM\tTITLE")
	for _, d := range due {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Due.Format(time.DateOnly), d.Status, d.Interval, d.ItemID, d.Title.Get("ja"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	skipped := len(obs) - len(due)
	if skipped > 0 {
		fmt.Fprintf(e.stdout, "%d periodic items have no interval yet; choose one with --every ID=P1Y.\n", skipped)
	}
	return nil
}

func pairs(s string, fn func(k, v string) error) error {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	for _, p := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok {
			return fmt.Errorf("%q has no =", p)
		}
		if err := fn(strings.TrimSpace(k), strings.TrimSpace(v)); err != nil {
			return err
		}
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
