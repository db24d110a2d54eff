package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/mamori-dev/mamori/internal/detect"
	"github.com/mamori-dev/mamori/internal/format/sigma"
	"github.com/mamori-dev/mamori/internal/intake"
)

func runDetect(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(e.stderr, "Usage: mamori detect replay --events FILE [flags]\n       mamori detect config [--config FILE]\n\nSubcommands:\n  replay   run the detectors over historical events and print the alerts (or a threshold sweep)\n  config   check a detection configuration and print it with every default filled in")
		if len(args) == 0 {
			return usagef("a subcommand is required")
		}
		return nil
	}
	switch args[0] {
	case "replay":
		return runReplay(ctx, e, args[1:])
	case "config":
		return runDetectConfig(e, args[1:])
	}
	return usagef("unknown subcommand %q (want replay or config)", args[0])
}

func runDetectConfig(e *env, args []string) error {
	fs := newFlagSet(e, "detect config", "[--config FILE]")
	configFile := fs.String("config", "", "detection configuration (JSON or YAML) to check; the defaults otherwise")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	cfg := detect.Default()
	if *configFile != "" {
		b, err := os.ReadFile(*configFile)
		if err != nil {
			return usagef("cannot read --config: %v", err)
		}
		if cfg, err = detect.ParseConfig(b); err != nil {
			return err
		}
	}
	b, err := cfg.YAML()
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(b)
	return err
}

// flagError passes -h through (exit 0) and makes other flag errors usage
// errors (exit 2); the flag package has already printed the usage.
func flagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usagef("%v", err)
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runReplay(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "detect replay", "--events FILE [--format json|table] [--config FILE] [--decoy NAME …] [--format-in FORMAT] [--sweep KEY=v1,v2,…] [--sigma RULE.yml …] [--blocklist FILE]")
	events := fs.String("events", "", "file of sign-in events (NDJSON, sshd, PAM, Keycloak or CloudTrail); - for standard input")
	format := fs.String("format", "json", "output: json or table")
	configFile := fs.String("config", "", "detection configuration (JSON or YAML); defaults otherwise")
	formatIn := fs.String("format-in", "auto", "input format: "+strings.Join(intake.Formats(), ", "))
	sweepSpec := fs.String("sweep", "", "count the alerts for each value of one setting, e.g. brute_force.account_failures=3,5,10")
	blockFile := fs.String("blocklist", "", "also write the sources the alerts would block to FILE: JSON if it ends in .json, else one prefix per line")
	var decoys, rules multiFlag
	fs.Var(&decoys, "decoy", "a decoy account: any attempt on it is an alert (repeatable)")
	fs.Var(&rules, "sigma", "a Sigma rule file to run as an extra detector (repeatable)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	if *events == "" {
		return usagef("--events FILE is required")
	}
	if *format != "json" && *format != "table" {
		return usagef("--format must be json or table, not %q", *format)
	}

	cfg := detect.Default()
	if *configFile != "" {
		b, err := os.ReadFile(*configFile)
		if err != nil {
			return usagef("cannot read --config: %v", err)
		}
		if cfg, err = detect.ParseConfig(b); err != nil {
			return err
		}
	}
	cfg.Decoy.Accounts = append(cfg.Decoy.Accounts, decoys...)
	if err := cfg.Validate(); err != nil {
		return err
	}
	var ruleSet *sigma.RuleSet
	if len(rules) > 0 {
		if ruleSet, err = sigma.LoadFiles(rules...); err != nil {
			return err
		}
	}
	extra := func() []detect.Detector {
		if ruleSet == nil {
			return nil
		}
		return ruleSet.Detectors()
	}

	in, size, name, err := openEvents(e, *events)
	if err != nil {
		return err
	}
	defer in.Close()
	head, err := peek(in)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	fmtName := *formatIn
	if fmtName == "auto" {
		fmtName = intake.Sniff(head.sample)
	}
	loc, _ := time.LoadLocation(cfg.TimeZone)
	ref := time.Now()
	if f, ok := in.(*os.File); ok && f != os.Stdin {
		if st, err := f.Stat(); err == nil {
			ref = st.ModTime() // syslog years are relative to when the file was written
		}
	}
	parser, err := intake.NewParser(fmtName, loc, ref)
	if err != nil {
		return usagef("--format-in must be one of %s", strings.Join(intake.Formats(), ", "))
	}

	var observe func(*detect.Event)
	var engine *detect.Engine
	var sweep *detect.Sweep
	if *sweepSpec != "" {
		key, values, err := detect.ParseSweep(*sweepSpec)
		if err != nil {
			return err
		}
		if sweep, err = detect.NewSweep(cfg, key, values, extra); err != nil {
			return err
		}
		observe = sweep.Observe
	} else {
		if engine, err = detect.New(cfg, detect.Options{Collect: true, Detectors: extra()}); err != nil {
			return err
		}
		observe = engine.Observe
	}

	counter := &countingReader{r: head.reader}
	stop := progress(e, counter, size)
	rep, err := intake.Read(ctx, counter, parser, observe)
	stop()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "mamori detect replay: %s (%s): %d lines, %d events, %d malformed lines\n", name, fmtName, rep.Lines, rep.Events, rep.Malformed)
	for _, le := range rep.Errors {
		fmt.Fprintf(e.stderr, "  line %d: %s\n", le.Line, le.Reason)
	}
	if rep.Malformed > len(rep.Errors) {
		fmt.Fprintf(e.stderr, "  … and %d more malformed lines\n", rep.Malformed-len(rep.Errors))
	}
	if sweep != nil {
		return printSweep(e.stdout, *format, sweep.Key(), sweep.Result())
	}
	alerts := engine.Flush()
	if *blockFile != "" {
		if err := writeBlocklist(*blockFile, cfg.Block, alerts); err != nil {
			return err
		}
	}
	return printAlerts(e.stdout, *format, alerts)
}

// writeBlocklist writes the decisions the alerts call for, as of the end
// of the replayed events (so that expiries are relative to the data).
func writeBlocklist(path string, cfg detect.BlockConfig, alerts []detect.Alert) error {
	bl := detect.NewBlocklist()
	var now time.Time
	for i := range alerts {
		bl.Add(detect.Decide(cfg, &alerts[i], alerts[i].End)...)
		if alerts[i].End.After(now) {
			now = alerts[i].End
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return usagef("cannot write --blocklist: %v", err)
	}
	active := bl.Active(now)
	if strings.HasSuffix(path, ".json") {
		err = detect.WriteJSON(f, active, now)
	} else {
		err = detect.WriteText(f, active)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

type peeked struct {
	sample []byte
	reader io.Reader
}

// peek reads the start of r for format sniffing and returns a reader that
// still yields everything.
func peek(r io.Reader) (peeked, error) {
	buf := make([]byte, 16<<10)
	n, err := io.ReadFull(r, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return peeked{}, err
	}
	return peeked{sample: buf[:n], reader: io.MultiReader(strings.NewReader(string(buf[:n])), r)}, nil
}

func openEvents(e *env, path string) (io.ReadCloser, int64, string, error) {
	if path == "-" {
		return io.NopCloser(e.stdin), -1, "standard input", nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, "", usagef("cannot open --events: %v", err)
	}
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		f.Close()
		return nil, 0, "", usagef("--events %s is not a readable file", path)
	}
	return f, st.Size(), path, nil
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// progress shows how far the read is, on stderr, only when stderr is a
// terminal and the file is big enough to wait for.
func progress(e *env, c *countingReader, size int64) (stop func()) {
	f, ok := e.stderr.(*os.File)
	if !ok || size < 32<<20 {
		return func() {}
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-done:
				fmt.Fprint(f, "\r\033[K")
				return
			case <-t.C:
				n := c.n.Load()
				rate := float64(n) / time.Since(start).Seconds() / (1 << 20)
				fmt.Fprintf(f, "\r\033[Kreading: %5.1f%% (%d of %d MiB, %.0f MiB/s)", 100*float64(n)/float64(size), n>>20, size>>20, rate)
			}
		}
	}()
	return func() { close(done); <-finished }
}

func printAlerts(w io.Writer, format string, alerts []detect.Alert) error {
	if format == "json" {
		out := struct {
			Alerts []detect.ReplayAlert `json:"alerts"`
		}{Alerts: make([]detect.ReplayAlert, 0, len(alerts))}
		for i := range alerts {
			out.Alerts = append(out.Alerts, alerts[i].Short())
		}
		enc := json.NewEncoder(w)
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tSEVERITY\tSTART\tEND\tEVENTS\tSOURCES\tACCOUNTS\tCOMPROMISED")
	for _, a := range alerts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", a.Type, a.Severity,
			a.Start.Format(time.RFC3339), a.End.Format(time.RFC3339), a.Events,
			listText(addrStrings(a), a.SourceCount), listText(a.Accounts, a.AccountCount), strings.Join(a.Compromised, ","))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d alerts\n", len(alerts))
	return err
}

func addrStrings(a detect.Alert) []string {
	s := make([]string, len(a.Sources))
	for i, x := range a.Sources {
		s[i] = x.String()
	}
	return s
}

// listText shows up to three items and how many in all.
func listText(items []string, total int) string {
	if len(items) == 0 {
		return "-"
	}
	total = max(total, len(items))
	if len(items) <= 3 {
		return strings.Join(items, ",")
	}
	return fmt.Sprintf("%s,… (%d)", strings.Join(items[:3], ","), total)
}

func printSweep(w io.Writer, format, key string, points []detect.SweepPoint) error {
	if format == "json" {
		return json.NewEncoder(w).Encode(struct {
			Key    string              `json:"key"`
			Points []detect.SweepPoint `json:"points"`
		}{key, points})
	}
	types := map[detect.AlertType]bool{}
	for _, p := range points {
		for t := range p.ByType {
			types[t] = true
		}
	}
	var cols []string
	for t := range types {
		cols = append(cols, string(t))
	}
	sort.Strings(cols)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\tALERTS\tSOURCES\tACCOUNTS\t", strings.ToUpper(key))
	for _, c := range cols {
		fmt.Fprintf(tw, "%s\t", c)
	}
	fmt.Fprintln(tw)
	for _, p := range points {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t", p.Value, p.Alerts, p.Sources, p.Accounts)
		for _, c := range cols {
			fmt.Fprintf(tw, "%d\t", p.ByType[detect.AlertType(c)])
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}
