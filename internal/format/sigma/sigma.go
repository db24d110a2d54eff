// Package sigma runs Sigma rules (bradleyjkemp/sigma-go) as additional
// detectors over the canonical sign-in event. Rules name the ECS fields
// ("event.outcome", "user.name", "source.ip" …). Counting correlations
// ("selection | count() by source_ip > 10" with a timeframe) are counted
// in event time, per group, in a sliding window, with bounded memory.
// sigma-go's condition grammar takes no dots, so "count() by" names a
// field with underscores (source_ip, user_name); both forms are set.
package sigma

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	sigmago "github.com/bradleyjkemp/sigma-go"
	"github.com/bradleyjkemp/sigma-go/evaluator"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/detect"
)

// DefaultTimeframe applies to a counting rule that gives none.
const DefaultTimeframe = 5 * time.Minute

// maxGroups bounds the counters one rule keeps.
const maxGroups = 100_000

// RuleSet is a set of parsed rules.
type RuleSet struct {
	rules []sigmago.Rule
}

// Parse reads one rule; name is used in errors (a file name).
func Parse(name string, data []byte) (rule sigmago.Rule, err error) {
	defer func() {
		// The rule parser is third-party code on untrusted input: never
		// let it take the process down.
		if p := recover(); p != nil {
			err = mamori.Errorf(mamori.EINVALID, "Sigma rule %s could not be read.", name)
		}
	}()
	if sigmago.InferFileType(data) != sigmago.RuleFile {
		return rule, mamori.Errorf(mamori.EINVALID, "%s is not a Sigma rule.", name)
	}
	// sigma-go v0.6.6 decodes detection.timeframe from the wrong YAML
	// node and fails on every rule that has one, so take it out first and
	// set it ourselves.
	data, tf, err := takeTimeframe(data)
	if err != nil {
		return rule, mamori.Errorf(mamori.EINVALID, "Sigma rule %s: %v", name, err)
	}
	rule, err = sigmago.ParseRule(data)
	rule.Detection.Timeframe = tf
	if err != nil {
		return rule, mamori.Wrap(mamori.EINVALID, err, fmt.Sprintf("Sigma rule %s is not valid: %v", name, err))
	}
	fe := mamori.FieldErrors{}
	if strings.TrimSpace(rule.Title) == "" {
		fe.Add(name+": title", "is required")
	}
	if len(rule.Detection.Conditions) == 0 {
		fe.Add(name+": detection.condition", "is required")
	}
	if len(rule.Detection.Searches) == 0 {
		fe.Add(name+": detection", "needs at least one search")
	}
	if rule.Level != "" {
		if _, err := detect.ParseSeverity(rule.Level); err != nil {
			fe.Add(name+": level", err.Error())
		}
	}
	for i, c := range rule.Detection.Conditions {
		if agg, ok := c.Aggregation.(sigmago.Comparison); ok {
			if cnt, ok := agg.Func.(sigmago.Count); !ok || cnt.Field != "" {
				fe.Addf(fmt.Sprintf("%s: condition %d", name, i+1), "only count() and count() by FIELD are supported")
			}
		} else if c.Aggregation != nil {
			fe.Addf(fmt.Sprintf("%s: condition %d", name, i+1), "only count() comparisons are supported")
		}
	}
	return rule, fe.Err()
}

// takeTimeframe removes detection.timeframe from a rule document and
// returns it parsed ("30s", "5m", "1h", "2d").
func takeTimeframe(data []byte) ([]byte, time.Duration, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, 0, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return data, 0, nil
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != "detection" || top.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		det := top.Content[i+1]
		for j := 0; j+1 < len(det.Content); j += 2 {
			if det.Content[j].Value != "timeframe" {
				continue
			}
			v := strings.TrimSpace(det.Content[j+1].Value)
			var tf time.Duration
			if n, ok := strings.CutSuffix(v, "d"); ok {
				days, err := strconv.Atoi(n)
				if err != nil || days <= 0 {
					return nil, 0, fmt.Errorf("timeframe %q is not like 30s, 5m, 1h or 2d", v)
				}
				tf = time.Duration(days) * 24 * time.Hour
			} else {
				d, err := time.ParseDuration(v)
				if err != nil || d <= 0 {
					return nil, 0, fmt.Errorf("timeframe %q is not like 30s, 5m, 1h or 2d", v)
				}
				tf = d
			}
			det.Content = append(det.Content[:j], det.Content[j+2:]...)
			out, err := yaml.Marshal(&doc)
			return out, tf, err
		}
	}
	return data, 0, nil
}

// LoadFiles reads rule files (a directory reads its *.yml and *.yaml).
func LoadFiles(paths ...string) (*RuleSet, error) {
	rs := &RuleSet{}
	for _, p := range paths {
		files := []string{p}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			files, _ = filepath.Glob(filepath.Join(p, "*.y*ml"))
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, mamori.Wrap(mamori.EINVALID, err, fmt.Sprintf("Cannot read Sigma rule %s.", f))
			}
			r, err := Parse(f, b)
			if err != nil {
				return nil, err
			}
			rs.rules = append(rs.rules, r)
		}
	}
	return rs, nil
}

// Add puts a parsed rule in the set.
func (rs *RuleSet) Add(r sigmago.Rule) { rs.rules = append(rs.rules, r) }

// Len is the number of rules.
func (rs *RuleSet) Len() int { return len(rs.rules) }

// Detectors returns one detector per rule, each with fresh counters.
func (rs *RuleSet) Detectors() []detect.Detector {
	out := make([]detect.Detector, 0, len(rs.rules))
	for _, r := range rs.rules {
		out = append(out, newDetector(r))
	}
	return out
}

type detector struct {
	rule   sigmago.Rule
	eval   *evaluator.RuleEvaluator
	sev    detect.Severity
	name   string
	window int64
	now    int64
	group  string
	counts map[string]*counter
	fields map[string]any
}

// counter counts events per group in a sliding window of 10 buckets.
type counter struct {
	start   int64 // start of bucket 0's period
	buckets [10]uint32
	last    int64
}

func newDetector(r sigmago.Rule) *detector {
	sev, _ := detect.ParseSeverity(r.Level)
	if r.Level == "" {
		sev = detect.SeverityMedium
	}
	name := r.Title
	if r.ID != "" {
		name += " (" + r.ID + ")"
	}
	w := r.Detection.Timeframe
	if w <= 0 {
		w = DefaultTimeframe
	}
	d := &detector{rule: r, sev: sev, name: name, window: int64(w), counts: map[string]*counter{}, fields: map[string]any{}}
	d.eval = evaluator.ForRule(r, evaluator.CountImplementation(d.count))
	return d
}

func (d *detector) Name() string { return "sigma: " + d.name }

// count is the rule's count() in event time.
func (d *detector) count(_ context.Context, gb evaluator.GroupedByValues) (float64, error) {
	var key strings.Builder
	fmt.Fprintf(&key, "%d", gb.ConditionID)
	for k, v := range gb.EventValues {
		fmt.Fprintf(&key, "\x00%s=%v", k, v)
		if s := fmt.Sprint(v); s != "" {
			d.group = k + "=" + s
		}
	}
	c := d.counts[key.String()]
	if c == nil {
		if len(d.counts) >= maxGroups {
			for k, x := range d.counts {
				if d.now-x.last > d.window {
					delete(d.counts, k)
				}
			}
			if len(d.counts) >= maxGroups {
				clear(d.counts)
			}
		}
		c = &counter{}
		d.counts[key.String()] = c
	}
	return float64(c.add(d.now, d.window)), nil
}

func (c *counter) add(now, w int64) uint32 {
	bw := w / int64(len(c.buckets))
	if bw <= 0 {
		bw = 1
	}
	idx := now / bw
	last := c.last / bw
	if c.last == 0 || idx-last >= int64(len(c.buckets)) {
		c.buckets = [10]uint32{}
	} else {
		for i := last + 1; i <= idx; i++ {
			c.buckets[i%int64(len(c.buckets))] = 0
		}
	}
	if now > c.last {
		c.last = now
	}
	c.buckets[idx%int64(len(c.buckets))]++
	var n uint32
	for _, b := range c.buckets {
		n += b
	}
	return n
}

// Observe implements detect.Detector.
func (d *detector) Observe(ev *detect.Event, seq uint64, r detect.Reporter) {
	clear(d.fields)
	f := d.fields
	f["@timestamp"] = ev.Time.Format(time.RFC3339Nano)
	put := func(k, v string) {
		if v != "" {
			f[k] = v
			f[strings.ReplaceAll(k, ".", "_")] = v
		}
	}
	put("event.action", string(ev.Action))
	put("event.outcome", string(ev.Outcome))
	put("event.reason", string(ev.Reason))
	put("user.name", ev.User)
	if ev.Source.IsValid() {
		put("source.ip", ev.Source.String())
	}
	put("source.domain", ev.Domain)
	put("user_agent.original", ev.UserAgent)
	put("service.name", ev.Service)
	put("host.name", ev.Host)
	put("mamori.password_hmac", ev.PasswordHMAC)
	d.now = ev.Time.UnixNano()
	d.group = ""
	res, err := d.matches(f)
	if err != nil || !res.Match {
		return
	}
	key := d.name
	if d.group != "" {
		key += " " + d.group
	}
	fd := &detect.Finding{Type: detect.TypeSigma, Severity: d.sev, Scope: detect.ScopeRule, Key: key, Rule: d.name,
		Summary: "Sigma rule matched: " + d.rule.Title + ".", Events: []uint64{seq}}
	if ev.Source.IsValid() {
		fd.Sources = append(fd.Sources, ev.Source)
	}
	if ev.User != "" {
		fd.Accounts = append(fd.Accounts, ev.User)
	}
	r.Report(fd)
}

func (d *detector) matches(f map[string]any) (res evaluator.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sigma rule %s panicked: %v", d.name, p)
		}
	}()
	return d.eval.Matches(context.Background(), f)
}
