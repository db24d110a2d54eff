package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/format/pdf"
	"github.com/mamori-dev/mamori/internal/format/sheet"
)

// assessmentCommands are the subcommands of "mamori assessment".
func assessmentCommands() []subcommand {
	return []subcommand{
		{"list", "[--json] [--data-dir DIR | --database-url URL]", "list the assessments", runAssessmentList},
		{"export", "<id> --format xlsx|json|pdf|checksheet-xlsx|checksheet-csv [--lang ja|en] [--out FILE] [--data-dir DIR | --database-url URL]", "export an assessment: workbook, JSON, PDF report or check-sheet answer", runAssessmentExport},
		{"import", "FILE [--as-new] [--json] [--data-dir DIR | --database-url URL]", "import an assessment workbook (XLSX) or JSON export, all or nothing", runAssessmentImport},
	}
}

func runAssessment(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(e.stdout, "Usage: mamori assessment <subcommand> [flags]\n\nSubcommands:")
		for _, c := range assessmentCommands() {
			fmt.Fprintf(e.stdout, "  %-7s %s\n", c.name, c.summary)
		}
		if len(args) == 0 {
			return &ExitError{Code: exitUsage}
		}
		return nil
	}
	for _, c := range assessmentCommands() {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	return usagef("unknown subcommand %q (run 'mamori assessment help')", args[0])
}

func assessmentFlagSet(e *env, sub string) *flag.FlagSet {
	for _, c := range assessmentCommands() {
		if c.name == sub {
			return newFlagSet(e, "assessment "+sub, c.synopsis)
		}
	}
	return newFlagSet(e, "assessment "+sub, "")
}

// assessmentServices opens the existing database (an assessment command
// never creates one) with the services, as the operator (system actor).
func assessmentServices(ctx context.Context, e *env, sf storeFlags, migrate bool) (*services, context.Context, func(), error) {
	cfg, err := sf.load(e, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	db, err := existingStore(ctx, e, sf)
	if err != nil {
		return nil, nil, nil, err
	}
	if db == nil {
		return nil, nil, nil, mamori.Errorf(mamori.ENOTFOUND, "There is no database in %s. Run mamori serve or mamori migrate up first.", cfg.DataDir)
	}
	if migrate {
		if _, err := db.Migrate(ctx); err != nil {
			db.Close()
			return nil, nil, nil, fmt.Errorf("migrate: %w", err)
		}
	}
	svc, err := newServices(ctx, cfg, db, newLogger(cfg, e.stderr))
	if err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	return svc, mamori.WithActor(ctx, mamori.SystemActor()), func() { db.Close() }, nil
}

func runAssessmentList(ctx context.Context, e *env, args []string) error {
	fs := assessmentFlagSet(e, "list")
	asJSON := fs.Bool("json", false, "print JSON")
	var sf storeFlags
	sf.register(fs)
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef("list takes no arguments")
	}
	svc, sys, done, err := assessmentServices(ctx, e, sf, false)
	if err != nil {
		return err
	}
	defer done()
	list, err := svc.control.Assessments(sys, control.AssessmentFilter{Limit: 500})
	if err != nil {
		return err
	}
	if *asJSON {
		if list == nil {
			list = []*control.Assessment{}
		}
		return writeJSON(e.stdout, list)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCATALOG\tSTATE\tPERIOD\tTITLE")
	for _, a := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s–%s\t%s\n", a.ID, a.CatalogKey, a.State, control.FormatDate(a.PeriodStart), control.FormatDate(a.PeriodEnd), a.Title)
	}
	return tw.Flush()
}

func runAssessmentExport(ctx context.Context, e *env, args []string) error {
	fs := assessmentFlagSet(e, "export")
	format := fs.String("format", "xlsx", "xlsx (the workbook), json, pdf (the report), checksheet-xlsx or checksheet-csv")
	lang := fs.String("lang", "ja", "language of headers, labels and the report (ja or en)")
	out := fs.String("out", "", "write to FILE instead of standard output")
	var sf storeFlags
	sf.register(fs)
	id, err := oneArg(fs, args, "assessment id")
	if err != nil {
		return err
	}
	if err := checkLang(*lang); err != nil {
		return err
	}
	switch *format {
	case "xlsx", "json", "pdf", "checksheet-xlsx", "checksheet-csv":
	default:
		return usagef("--format must be xlsx, json, pdf, checksheet-xlsx or checksheet-csv")
	}
	svc, sys, done, err := assessmentServices(ctx, e, sf, false)
	if err != nil {
		return err
	}
	defer done()
	snap, err := svc.control.Snapshot(sys, id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	switch *format {
	case "xlsx":
		err = sheet.WriteWorkbook(&buf, snap.ToWorkbook(false), *lang)
	case "json":
		err = writeJSON(&buf, snap.ToWorkbook(false))
	case "pdf":
		err = pdf.Render(&buf, snap.Report(), *lang, pdf.Options{})
	case "checksheet-xlsx":
		err = sheet.WriteCheckSheetXLSX(&buf, snap.Assessment.Title, snap.Report().CheckSheet(*lang), *lang)
	case "checksheet-csv":
		err = sheet.WriteCheckSheetCSV(&buf, snap.Report().CheckSheet(*lang), *lang)
	}
	if err != nil {
		return err
	}
	svc.control.RecordExport(sys, id, strings.ReplaceAll(*format, "-", "."))
	if *out == "" {
		_, err = e.stdout.Write(buf.Bytes())
		return err
	}
	return writeFileAtomic(*out, buf.Bytes())
}

func runAssessmentImport(ctx context.Context, e *env, args []string) error {
	fs := assessmentFlagSet(e, "import")
	asNew := fs.Bool("as-new", false, "create a new assessment even if the file's assessment exists")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	var sf storeFlags
	sf.register(fs)
	file, err := oneArg(fs, args, "FILE")
	if err != nil {
		return err
	}
	data, err := readLimited(file, sheet.MaxFileSize)
	if err != nil {
		return err
	}
	var wb *control.Workbook
	if bytes.HasPrefix(data, []byte("PK")) {
		wb, err = sheet.ReadWorkbook(data)
	} else {
		wb, err = control.DecodeWorkbookJSON(data)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	svc, sys, done, err := assessmentServices(ctx, e, sf, true)
	if err != nil {
		return err
	}
	defer done()
	res, err := svc.control.ImportWorkbook(sys, wb, control.ImportOptions{AsNew: *asNew})
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if *asJSON {
		return writeJSON(e.stdout, res)
	}
	verb := "Updated"
	if res.Created {
		verb = "Created"
	}
	fmt.Fprintf(e.stdout, "%s assessment %s (%s): %d items changed, %d evidence added, %d tasks created, %d tasks changed.\n",
		verb, res.Assessment.ID, res.Assessment.Title, res.ItemsChanged, res.EvidenceAdded, res.TasksCreated, res.TasksChanged)
	if res.NeedingApproval > 0 {
		fmt.Fprintf(e.stdout, "%d risk acceptances or exclusions have no approval yet: request them on each item in mamori.\n", res.NeedingApproval)
	}
	return nil
}
