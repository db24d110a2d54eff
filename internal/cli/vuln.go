package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/format/cyclonedx"
	"github.com/mamori-dev/mamori/internal/format/osv"
	"github.com/mamori-dev/mamori/internal/format/spdx"
	"github.com/mamori-dev/mamori/internal/sbom"
	"github.com/mamori-dev/mamori/internal/vuln"
)

// sbomDecoders are the SBOM formats mamori reads, tried in order.
var sbomDecoders = sbom.Decoders{cyclonedx.Decoder{}, spdx.Decoder{}}

const vulnUsage = `match --sbom FILE [--sbom FILE …] --advisories PATH [--advisories PATH …] [--format json|table|sarif] [--fail-on LEVEL]

Matches the components of CycloneDX or SPDX SBOMs against OSV advisories
(a JSON file, a directory, or a zip of files; osv-scanner's local database
directory works as is), offline.

Exit status: 0 when nothing at or above the --fail-on level is found, 1 when
something is, 2 on error.`

func runVuln(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(e.stderr, "Usage: mamori vuln %s\n", vulnUsage)
		if len(args) == 0 {
			return &ExitError{Code: exitUsage}
		}
		return nil
	}
	switch args[0] {
	case "match":
		return runVulnMatch(ctx, e, args[1:])
	}
	return usagef("unknown subcommand %q (try 'mamori vuln match -h')", args[0])
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runVulnMatch(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "vuln match", "--sbom FILE [--sbom FILE …] --advisories PATH [--advisories PATH …] [--format json|table|sarif] [--fail-on LEVEL]")
	var sboms, advisories stringList
	fs.Var(&sboms, "sbom", "a CycloneDX (JSON/XML) or SPDX (JSON/tag-value) SBOM `file`; repeatable")
	fs.Var(&advisories, "advisories", "OSV advisories: a JSON file, a directory or a zip `path`; repeatable")
	format := fs.String("format", "table", "output `format`: json, table or sarif")
	failOn := fs.String("fail-on", "unknown", "exit 1 when a finding is at or above this `level`: unknown (any finding), low, medium, high, critical")
	cacheDir := fs.String("cache-dir", defaultCacheDir(), "keep a decoded snapshot of the advisories in this `directory` (reused while the advisory files are unchanged)")
	noCache := fs.Bool("no-cache", false, "decode the advisories without reading or writing the snapshot cache")
	rest, err := parseFlags(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &ExitError{Code: exitUsage}
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q (SBOMs are given with --sbom)", rest[0])
	}
	if len(sboms) == 0 || len(advisories) == 0 {
		return usagef("--sbom and --advisories are both required")
	}
	switch *format {
	case "json", "table", "sarif":
	default:
		return usagef("--format must be json, table or sarif, not %q", *format)
	}
	threshold, err := vuln.ParseLevel(*failOn)
	if err != nil {
		return usagef("--fail-on: %s", mamori.ErrorMessage(err))
	}

	// Matching a portfolio allocates many short-lived objects and the
	// process is short: collect less often (peak stays far below 500 MB).
	// Turning collection off was measured slower: fresh pages cost more
	// than the collector saves here.
	defer debug.SetGCPercent(debug.SetGCPercent(400))

	progress := isTerminal(e.stderr)
	start := time.Now()
	status := func(format string, args ...any) {
		if progress {
			fmt.Fprintf(e.stderr, "\r\033[K"+format, args...)
		}
	}

	// Advisories and SBOMs are read at the same time: both are mostly
	// decoding, and each can use a core.
	var (
		wg      sync.WaitGroup
		loaded  *osv.Result
		loadErr error
	)
	cached := false
	wg.Go(func() {
		if *noCache || *cacheDir == "" {
			loaded, loadErr = osv.Load(ctx, advisories...)
			return
		}
		loaded, cached, loadErr = osv.LoadCached(ctx, *cacheDir, advisories...)
	})
	docs := make([]*sbom.Document, len(sboms))
	var docErr error
	for i, path := range sboms {
		status("Reading %s…", path)
		data, err := os.ReadFile(path)
		if err != nil {
			docErr = fmt.Errorf("cannot read SBOM %s: %w", path, err)
			break
		}
		doc, err := sbomDecoders.Decode(path, data)
		if err != nil {
			docErr = errors.New(errorText(err))
			break
		}
		docs[i] = doc
	}
	if docErr == nil {
		status("Loading advisories…")
	}
	wg.Wait()
	if docErr != nil {
		status("")
		return &ExitError{Code: exitUsage, Message: docErr.Error()}
	}
	if loadErr != nil {
		status("")
		return &ExitError{Code: exitUsage, Message: errorText(loadErr)}
	}
	status("")
	for _, p := range loaded.Problems {
		fmt.Fprintf(e.stderr, "warning: skipped advisory %s\n", p.Error())
	}
	pkgs := make([][]vuln.Package, len(docs))
	var all []vuln.Package
	for i, doc := range docs {
		var skipped []vuln.Skip
		pkgs[i], skipped = vuln.Packages(doc)
		reportSkipped(e.stderr, sboms[i], skipped)
		all = append(all, pkgs[i]...)
	}
	ix := vuln.NewIndex(vuln.Relevant(loaded.Advisories, all))
	for id, probs := range ix.Problems() {
		for _, p := range probs {
			fmt.Fprintf(e.stderr, "warning: advisory %s: %s not evaluated\n", id, p)
		}
	}
	if progress {
		from := "decoded"
		if cached {
			from = "from the cache"
		}
		fmt.Fprintf(e.stderr, "Loaded %d advisories (%s; %d withdrawn left out), %d about these packages, in %s.\n",
			len(loaded.Advisories), from, loaded.Withdrawn, ix.Len(), time.Since(start).Round(time.Millisecond))
	}

	var findings []vuln.Finding
	for i, doc := range docs {
		fs, verrs := vuln.FindingsFor(ix, sboms[i], pkgs[i])
		findings = append(findings, fs...)
		for j, err := range verrs {
			if j == 3 {
				fmt.Fprintf(e.stderr, "warning: %s: %d more components with versions their ecosystem cannot order\n", sboms[i], len(verrs)-3)
				break
			}
			fmt.Fprintf(e.stderr, "warning: %s: %v\n", sboms[i], err)
		}
		if progress {
			fmt.Fprintf(e.stderr, "%s: %d components, %d matched by package URL, %d findings.\n", sboms[i], len(doc.Components), len(pkgs[i]), len(fs))
		}
	}
	// FindingsFor returns each SBOM's findings in order and they were
	// appended in the order the SBOMs were given: nothing to sort.

	out := bufio.NewWriterSize(e.stdout, 1<<16)
	switch *format {
	case "json":
		err = writeFindingsJSON(out, findings)
	case "table":
		err = writeTable(out, findings, len(sboms) > 1)
	case "sarif":
		err = writeSARIF(out, findings, ix)
	}
	if err == nil {
		err = out.Flush()
	}
	if err != nil {
		return &ExitError{Code: exitUsage, Message: "cannot write the results: " + err.Error()}
	}
	n := 0
	for i := range findings {
		if findings[i].Severity.Level >= threshold {
			n++
		}
	}
	if n > 0 {
		return &ExitError{Code: exitFail, Message: fmt.Sprintf("%d of %d findings are at or above %s.", n, len(findings), threshold)}
	}
	return nil
}

// errorText is an error's user-facing message with its field reasons.
func errorText(err error) string {
	msg := mamori.ErrorMessage(err)
	if mamori.ErrorCode(err) == mamori.EINTERNAL {
		msg = err.Error()
	}
	fields := mamori.ErrorFields(err)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		msg += " " + k + ": " + fields[k] + "."
	}
	return msg
}

// reportSkipped summarises components that could not be matched, by
// reason, with a few examples.
func reportSkipped(w io.Writer, name string, skipped []vuln.Skip) {
	byReason := map[string][]string{}
	var reasons []string
	for _, s := range skipped {
		r := s.Reason
		if _, ok := byReason[r]; !ok {
			reasons = append(reasons, r)
		}
		label := s.PURL
		if label == "" {
			label = s.Name
		}
		byReason[r] = append(byReason[r], label)
	}
	for _, r := range reasons {
		ex := byReason[r]
		more := ""
		if len(ex) > 3 {
			more = fmt.Sprintf(" and %d more", len(ex)-3)
			ex = ex[:3]
		}
		fmt.Fprintf(w, "note: %s: %d components not matched (%s): %s%s\n", name, len(byReason[r]), r, strings.Join(ex, ", "), more)
	}
}

// defaultCacheDir is the user's cache directory for mamori, or "" (no
// cache) when the system has none.
func defaultCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "mamori")
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// writeFindingsJSON writes {"findings":[…]} with one finding per line, streamed:
// a portfolio can have a hundred thousand findings, so each line is
// appended by hand rather than through reflection.
func writeFindingsJSON(w io.Writer, findings []vuln.Finding) error {
	if _, err := io.WriteString(w, "{\"findings\":[\n"); err != nil {
		return err
	}
	var b []byte
	for i := range findings {
		f := &findings[i]
		b = b[:0]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"sbom":`...)
		b = appendJSONString(b, f.SBOM)
		b = append(b, `,"ecosystem":`...)
		b = appendJSONString(b, f.Ecosystem)
		b = append(b, `,"package":`...)
		b = appendJSONString(b, f.Package)
		b = append(b, `,"version":`...)
		b = appendJSONString(b, f.Version)
		b = append(b, `,"purl":`...)
		b = appendJSONString(b, f.PURL)
		b = append(b, `,"id":`...)
		b = appendJSONString(b, f.AdvisoryID)
		b = append(b, `,"aliases":`...)
		b = appendJSONStrings(b, f.Aliases)
		b = append(b, `,"severity":`...)
		b = appendJSONString(b, f.Severity.Level.String())
		if f.Severity.Vector != "" {
			b = append(b, `,"score":`...)
			b = strconv.AppendFloat(b, f.Severity.Score, 'f', -1, 64)
		}
		b = append(b, `,"fixed":`...)
		b = appendJSONStrings(b, f.Fixed)
		b = append(b, "}\n"...)
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "]}\n")
	return err
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// does (including <, > and & for HTML safety).
func appendJSONString(b []byte, s string) []byte {
	safe := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= 0x80 {
			safe = false
			break
		}
	}
	if safe {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s)
	return append(b, q...)
}

func appendJSONStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

func writeTable(w io.Writer, findings []vuln.Finding, showSBOM bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := "SEVERITY\tSCORE\tID\tECOSYSTEM\tPACKAGE\tVERSION\tFIXED"
	if showSBOM {
		head += "\tSBOM"
	}
	fmt.Fprintln(tw, head)
	counts := map[vuln.Level]int{}
	pkgs := map[string]bool{}
	for _, f := range findings {
		score := "-"
		if f.Severity.Vector != "" {
			score = strconv.FormatFloat(f.Severity.Score, 'f', 1, 64)
		}
		fixed := strings.Join(f.Fixed, ", ")
		if fixed == "" {
			fixed = "-"
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", f.Severity.Level, score, f.AdvisoryID, f.Ecosystem, f.Package, f.Version, fixed)
		if showSBOM {
			line += "\t" + f.SBOM
		}
		fmt.Fprintln(tw, line)
		counts[f.Severity.Level]++
		pkgs[f.SBOM+"\x00"+f.Ecosystem+"\x00"+f.Package+"\x00"+f.Version] = true
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var parts []string
	for l := vuln.LevelCritical; l >= vuln.LevelUnknown; l-- {
		if counts[l] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", l, counts[l]))
		}
	}
	summary := "none"
	if len(parts) > 0 {
		summary = strings.Join(parts, ", ")
	}
	_, err := fmt.Fprintf(w, "\n%d findings in %d package versions (%s).\n", len(findings), len(pkgs), summary)
	return err
}

// SARIF 2.1.0: one rule per advisory, one result per finding, located in
// the SBOM file with the package URL as logical location.
type sarifDriver struct {
	Name           string `json:"name"`
	Version        string `json:"version,omitempty"`
	InformationURI string `json:"informationUri"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID               string         `json:"id"`
	ShortDescription sarifText      `json:"shortDescription"`
	FullDescription  *sarifText     `json:"fullDescription,omitempty"`
	HelpURI          string         `json:"helpUri,omitempty"`
	Properties       map[string]any `json:"properties,omitempty"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical  `json:"physicalLocation"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation struct {
		URI string `json:"uri"`
	} `json:"artifactLocation"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName,omitempty"`
	Kind               string `json:"kind"`
}

// writeSARIF streams the log: every rule, then every result, one per line.
func writeSARIF(w io.Writer, findings []vuln.Finding, ix *vuln.Index) error {
	var rules []sarifRule
	ruleIndex := map[string]int{}
	for _, f := range findings {
		if _, ok := ruleIndex[f.AdvisoryID]; !ok {
			ruleIndex[f.AdvisoryID] = len(rules)
			rules = append(rules, sarifRuleFor(f, ix))
		}
	}
	driver, err := json.Marshal(sarifDriver{Name: "mamori", Version: Version, InformationURI: "https://github.com/mamori-dev/mamori"})
	if err != nil {
		return err
	}
	// The driver object minus its closing brace, so the rules can follow.
	driver = driver[:len(driver)-1]
	if _, err := fmt.Fprintf(w, `{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":[{"tool":{"driver":%s,"rules":[`+"\n", driver); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	for i := range rules {
		if i > 0 {
			io.WriteString(w, ",")
		}
		if err := enc.Encode(&rules[i]); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(w, "]}},\n\"results\":[\n"); err != nil {
		return err
	}
	for i, f := range findings {
		var loc sarifLocation
		loc.PhysicalLocation.ArtifactLocation.URI = (&url.URL{Path: filepath.ToSlash(f.SBOM)}).String()
		loc.LogicalLocations = []sarifLogical{{Name: f.Package + "@" + f.Version, FullyQualifiedName: f.PURL, Kind: "module"}}
		msg := fmt.Sprintf("%s %s (%s) is affected by %s", f.Package, f.Version, f.Ecosystem, f.AdvisoryID)
		if len(f.Aliases) > 0 {
			msg += " (" + strings.Join(f.Aliases, ", ") + ")"
		}
		if f.Summary != "" {
			msg += ": " + f.Summary
		}
		if len(f.Fixed) > 0 {
			msg += ". Fixed in " + strings.Join(f.Fixed, ", ")
		}
		r := sarifResult{
			RuleID: f.AdvisoryID, RuleIndex: ruleIndex[f.AdvisoryID], Level: sarifLevel(f.Severity.Level),
			Message:             sarifText{Text: msg + "."},
			Locations:           []sarifLocation{loc},
			PartialFingerprints: map[string]string{"mamoriFinding/v1": f.Ecosystem + "/" + f.Package + "@" + f.Version + "/" + f.AdvisoryID},
		}
		if i > 0 {
			io.WriteString(w, ",")
		}
		if err := enc.Encode(&r); err != nil {
			return err
		}
	}
	_, err = io.WriteString(w, "]}]}\n")
	return err
}

func sarifRuleFor(f vuln.Finding, ix *vuln.Index) sarifRule {
	r := sarifRule{ID: f.AdvisoryID, ShortDescription: sarifText{Text: f.AdvisoryID}}
	if f.Summary != "" {
		r.ShortDescription.Text = f.Summary
	}
	props := map[string]any{"tags": []string{"security", "vulnerability", f.Ecosystem}}
	if f.Severity.Vector != "" {
		props["security-severity"] = strconv.FormatFloat(f.Severity.Score, 'f', 1, 64)
		props["cvssVector"] = f.Severity.Vector
	}
	r.Properties = props
	if a, ok := ix.Advisory(f.AdvisoryID); ok {
		if a.Details != "" {
			r.FullDescription = &sarifText{Text: a.Details}
		}
		for _, ref := range a.References {
			if ref.Type == "ADVISORY" {
				r.HelpURI = ref.URL
				break
			}
		}
	}
	return r
}

func sarifLevel(l vuln.Level) string {
	switch l {
	case vuln.LevelCritical, vuln.LevelHigh:
		return "error"
	case vuln.LevelMedium, vuln.LevelUnknown:
		return "warning"
	}
	return "note"
}
