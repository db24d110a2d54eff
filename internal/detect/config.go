package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/mamori-dev/mamori"
)

// Duration is a time.Duration written as text ("10m", "6h", "1d") in
// configuration files.
type Duration time.Duration

func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) MarshalText() ([]byte, error) {
	if d%Duration(24*time.Hour) == 0 && d != 0 {
		return []byte(strconv.FormatInt(int64(d/Duration(24*time.Hour)), 10) + "d"), nil
	}
	s := time.Duration(d).String()
	// "10m0s" reads better as "10m", "6h0m0s" as "6h".
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return []byte(s), nil
}

// YAML returns c as a YAML document that ParseConfig reads back.
func (c Config) YAML() ([]byte, error) {
	return yaml.MarshalWithOptions(c, yaml.UseJSONMarshaler())
}

func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return fmt.Errorf("%q is not a duration like 90s, 10m, 6h or 2d", s)
		}
		*d = Duration(time.Duration(days) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration like 90s, 10m, 6h or 2d", s)
	}
	*d = Duration(v)
	return nil
}

// Config holds every threshold an administrator sets. Default returns the
// shipped values; ParseConfig overlays a JSON or YAML file on them;
// Validate names each bad key by its path ("brute_force.window").
type Config struct {
	// TimeZone is the IANA zone for business hours and for log timestamps
	// that carry no zone.
	TimeZone string `json:"time_zone"`
	// CaseSensitiveAccounts keeps "Alice" and "alice" apart. Off by default,
	// since most sign-in forms fold case.
	CaseSensitiveAccounts bool `json:"case_sensitive_accounts"`

	BruteForce  BruteForceConfig  `json:"brute_force"`
	Stuffing    StuffingConfig    `json:"credential_stuffing"`
	Spraying    SprayingConfig    `json:"password_spraying"`
	Enumeration EnumerationConfig `json:"account_enumeration"`
	Decoy       DecoyConfig       `json:"decoy"`
	Privileged  PrivilegedConfig  `json:"privileged"`
	OffHours    OffHoursConfig    `json:"off_hours"`
	Alerts      AlertConfig       `json:"alerts"`
	Limits      LimitConfig       `json:"limits"`
	Block       BlockConfig       `json:"block"`
}

// BruteForceConfig: many failures against one account, or from one source.
type BruteForceConfig struct {
	Enabled bool     `json:"enabled"`
	Window  Duration `json:"window"`
	// AccountFailures failed attempts on one account within Window, from
	// any number of sources, raise an alert.
	AccountFailures int `json:"account_failures"`
	// SourceFailures failed attempts from one address within Window, on
	// any accounts, raise an alert…
	SourceFailures int `json:"source_failures"`
	// …when at least this share of the source's attempts failed (so a
	// busy NAT whose users mostly succeed is not flagged).
	SourceMinFailureShare float64 `json:"source_min_failure_share"`
}

// StuffingConfig: one source, subnet or user agent trying many accounts.
type StuffingConfig struct {
	Enabled bool     `json:"enabled"`
	Window  Duration `json:"window"`
	// Distinct accounts tried within Window that raise an alert, per key.
	SourceAccounts    int `json:"source_accounts"`
	SubnetAccounts    int `json:"subnet_accounts"`
	UserAgentAccounts int `json:"user_agent_accounts"`
	// IPv4Prefix and IPv6Prefix give the subnet size (24 and 64).
	IPv4Prefix int `json:"ipv4_prefix"`
	IPv6Prefix int `json:"ipv6_prefix"`
	// MinFailureShare: the key's attempts must mostly fail.
	MinFailureShare float64 `json:"min_failure_share"`
	// UnknownShare: above this share of unknown accounts the alert is high.
	UnknownShare float64 `json:"unknown_share"`
	// Burst: a source failing on BurstAccounts distinct accounts within
	// BurstWindow, with no success in that time, is a fast probe.
	BurstAccounts int      `json:"burst_accounts"`
	BurstWindow   Duration `json:"burst_window"`
}

// SprayingConfig: few attempts per account across many accounts, slowly.
type SprayingConfig struct {
	Enabled bool     `json:"enabled"`
	Window  Duration `json:"window"`
	// SourceAccounts distinct accounts failed from one source (or
	// SubnetAccounts from one subnet) within Window, with at most
	// MaxAttemptsPerAccount attempts each on average.
	SourceAccounts        int     `json:"source_accounts"`
	SubnetAccounts        int     `json:"subnet_accounts"`
	MaxAttemptsPerAccount float64 `json:"max_attempts_per_account"`
	// MinFailureShare: the source's or subnet's attempts must mostly fail
	// (an office NAT sees many accounts fail, but far more succeed).
	MinFailureShare float64 `json:"min_failure_share"`
	// FingerprintAccounts distinct accounts failing with the same
	// mamori.password_hmac within Window.
	FingerprintAccounts int `json:"fingerprint_accounts"`
	// Distributed spraying from rotating addresses: failures never
	// followed by a success on the account within Grace are "abandoned";
	// DistributedAccounts abandoned accounts within DistributedWindow
	// (and BaselineFactor times the usual count) raise an alert.
	DistributedWindow   Duration `json:"distributed_window"`
	DistributedAccounts int      `json:"distributed_accounts"`
	Grace               Duration `json:"grace"`
	BaselineFactor      float64  `json:"baseline_factor"`
}

// EnumerationConfig: probing which accounts exist through sign-up and
// password-reset flows.
type EnumerationConfig struct {
	Enabled bool     `json:"enabled"`
	Window  Duration `json:"window"`
	// Accounts distinct accounts in sign-up or reset requests from one
	// source (SubnetAccounts from one subnet) within Window.
	Accounts       int `json:"accounts"`
	SubnetAccounts int `json:"subnet_accounts"`
}

// DecoyConfig lists honeytoken accounts: any attempt on them is an alert.
type DecoyConfig struct {
	Accounts []string `json:"accounts"`
}

// PrivilegedConfig lists privileged accounts; each successful sign-in is
// notified. Entries may be shell patterns ("adm-*").
type PrivilegedConfig struct {
	Enabled  bool     `json:"enabled"`
	Accounts []string `json:"accounts"`
}

// OffHoursConfig: successful sign-in outside business hours.
type OffHoursConfig struct {
	Enabled bool `json:"enabled"`
	// Scope is "privileged" (only privileged accounts) or "all".
	Scope string `json:"scope"`
	// Days are the working days ("mon".."sun"); Start and End the working
	// hours ("08:00", "20:00") in Config.TimeZone.
	Days  []string `json:"days"`
	Start string   `json:"start"`
	End   string   `json:"end"`
	// Holidays ("2026-01-01") are treated as off days.
	Holidays []string `json:"holidays"`
}

// AlertConfig controls how findings become alerts.
type AlertConfig struct {
	// MergeGap: a finding within this time after an alert's last event,
	// sharing its key, source or account, extends that alert.
	MergeGap Duration `json:"merge_gap"`
	// MaxSpan closes an alert this long after it started; a continuing
	// attack opens a new one.
	MaxSpan Duration `json:"max_span"`
	// MaxSources, MaxAccounts and MaxEvidence cap the lists kept in one
	// alert; beyond them only counts grow.
	MaxSources  int `json:"max_sources"`
	MaxAccounts int `json:"max_accounts"`
	MaxEvidence int `json:"max_evidence"`
}

// LimitConfig bounds memory.
type LimitConfig struct {
	// MaxKeys caps the tracked keys (accounts, sources, subnets, user
	// agents, fingerprints) per detector table; the least recently seen
	// key is dropped first.
	MaxKeys int `json:"max_keys"`
	// EvidenceBuffer is how many recent events are kept so that an alert
	// can hash the events that led to it.
	EvidenceBuffer int `json:"evidence_buffer"`
	// MaxPending caps failures waiting to see whether the user succeeds.
	MaxPending int `json:"max_pending"`
}

// BlockConfig turns alerts into blocklist decisions.
type BlockConfig struct {
	// Types of alerts whose sources are blocked.
	Types []string `json:"types"`
	// Duration of a block.
	Duration Duration `json:"duration"`
	// Allow lists addresses or prefixes that are never blocked.
	Allow []string `json:"allow"`
}

// Default returns the shipped configuration.
func Default() Config {
	return Config{
		TimeZone: "Asia/Tokyo",
		BruteForce: BruteForceConfig{
			Enabled: true, Window: Duration(10 * time.Minute),
			AccountFailures: 5, SourceFailures: 10, SourceMinFailureShare: 0.8,
		},
		Stuffing: StuffingConfig{
			Enabled: true, Window: Duration(10 * time.Minute),
			SourceAccounts: 10, SubnetAccounts: 20, UserAgentAccounts: 50,
			IPv4Prefix: 24, IPv6Prefix: 64,
			MinFailureShare: 0.5, UnknownShare: 0.5,
			BurstAccounts: 3, BurstWindow: Duration(time.Minute),
		},
		Spraying: SprayingConfig{
			Enabled: true, Window: Duration(24 * time.Hour),
			SourceAccounts: 20, SubnetAccounts: 30, MaxAttemptsPerAccount: 3, MinFailureShare: 0.8,
			FingerprintAccounts: 5,
			DistributedWindow:   Duration(6 * time.Hour), DistributedAccounts: 30,
			Grace: Duration(15 * time.Minute), BaselineFactor: 3,
		},
		Enumeration: EnumerationConfig{
			Enabled: true, Window: Duration(10 * time.Minute), Accounts: 10, SubnetAccounts: 20,
		},
		Privileged: PrivilegedConfig{Enabled: true, Accounts: []string{"root", "admin", "administrator"}},
		OffHours: OffHoursConfig{
			Enabled: true, Scope: "privileged",
			Days:  []string{"mon", "tue", "wed", "thu", "fri"},
			Start: "08:00", End: "20:00",
		},
		Alerts: AlertConfig{
			MergeGap: Duration(30 * time.Minute), MaxSpan: Duration(24 * time.Hour),
			MaxSources: 1000, MaxAccounts: 1000, MaxEvidence: 1000,
		},
		Limits: LimitConfig{MaxKeys: 100_000, EvidenceBuffer: 65_536, MaxPending: 200_000},
		Block: BlockConfig{
			Types:    []string{string(TypeBruteForce), string(TypeStuffing), string(TypeSpraying), string(TypeEnumeration), string(TypeDecoy)},
			Duration: Duration(24 * time.Hour),
		},
	}
}

// ParseConfig reads a JSON or YAML document over the defaults: keys left
// out keep their default, unknown keys are refused.
func ParseConfig(data []byte) (Config, error) {
	cfg := Default()
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return cfg, cfg.Validate()
	}
	if trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			return Config{}, mamori.Wrap(mamori.EINVALID, err, "The detection configuration is not valid JSON: "+err.Error())
		}
	} else if err := yaml.UnmarshalWithOptions(trimmed, &cfg, yaml.Strict(), yaml.UseJSONUnmarshaler()); err != nil {
		return Config{}, mamori.Wrap(mamori.EINVALID, err, "The detection configuration is not valid YAML: "+yaml.FormatError(err, false, true))
	}
	return cfg, cfg.Validate()
}

// Set changes one setting by its key path ("brute_force.account_failures")
// to value, given as JSON/YAML text ("12", "10m", "true"). The sweep uses it.
func (c *Config) Set(key, value string) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	parts := strings.Split(key, ".")
	cur := m
	for i, p := range parts {
		v, ok := cur[p]
		if !ok {
			return mamori.Invalid(key, "is not a setting")
		}
		if i == len(parts)-1 {
			if _, isMap := v.(map[string]any); isMap {
				return mamori.Invalid(key, "is a section, not a setting")
			}
			var nv any
			if err := yaml.Unmarshal([]byte(value), &nv); err != nil {
				nv = value
			}
			if _, isStr := v.(string); isStr {
				nv = value
			}
			cur[p] = nv
			break
		}
		next, ok := v.(map[string]any)
		if !ok {
			return mamori.Invalid(key, "is not a setting")
		}
		cur = next
	}
	b, _ = json.Marshal(m)
	var nc Config
	if err := json.Unmarshal(b, &nc); err != nil {
		return mamori.Invalid(key, fmt.Sprintf("cannot be set to %q", value))
	}
	if err := nc.Validate(); err != nil {
		return err
	}
	*c = nc
	return nil
}

// Validate reports every bad setting, keyed by its path.
func (c *Config) Validate() error {
	fe := mamori.FieldErrors{}
	if _, err := time.LoadLocation(c.TimeZone); err != nil || c.TimeZone == "" {
		fe.Addf("time_zone", "%q is not a known IANA time zone (for example Asia/Tokyo)", c.TimeZone)
	}
	pos := func(key string, v int) {
		if v < 1 {
			fe.Add(key, "must be at least 1")
		}
	}
	dur := func(key string, d Duration) {
		if d <= 0 {
			fe.Add(key, "must be a positive duration")
		}
	}
	share := func(key string, f float64) {
		if f < 0 || f > 1 {
			fe.Add(key, "must be between 0 and 1")
		}
	}
	b := c.BruteForce
	dur("brute_force.window", b.Window)
	pos("brute_force.account_failures", b.AccountFailures)
	pos("brute_force.source_failures", b.SourceFailures)
	share("brute_force.source_min_failure_share", b.SourceMinFailureShare)
	s := c.Stuffing
	dur("credential_stuffing.window", s.Window)
	pos("credential_stuffing.source_accounts", s.SourceAccounts)
	pos("credential_stuffing.subnet_accounts", s.SubnetAccounts)
	pos("credential_stuffing.user_agent_accounts", s.UserAgentAccounts)
	if s.IPv4Prefix < 8 || s.IPv4Prefix > 32 {
		fe.Add("credential_stuffing.ipv4_prefix", "must be between 8 and 32")
	}
	if s.IPv6Prefix < 16 || s.IPv6Prefix > 128 {
		fe.Add("credential_stuffing.ipv6_prefix", "must be between 16 and 128")
	}
	share("credential_stuffing.min_failure_share", s.MinFailureShare)
	share("credential_stuffing.unknown_share", s.UnknownShare)
	if s.BurstAccounts < 2 {
		fe.Add("credential_stuffing.burst_accounts", "must be at least 2")
	}
	dur("credential_stuffing.burst_window", s.BurstWindow)
	p := c.Spraying
	dur("password_spraying.window", p.Window)
	pos("password_spraying.source_accounts", p.SourceAccounts)
	pos("password_spraying.subnet_accounts", p.SubnetAccounts)
	share("password_spraying.min_failure_share", p.MinFailureShare)
	if p.MaxAttemptsPerAccount < 1 {
		fe.Add("password_spraying.max_attempts_per_account", "must be at least 1")
	}
	if p.FingerprintAccounts < 2 {
		fe.Add("password_spraying.fingerprint_accounts", "must be at least 2")
	}
	dur("password_spraying.distributed_window", p.DistributedWindow)
	pos("password_spraying.distributed_accounts", p.DistributedAccounts)
	dur("password_spraying.grace", p.Grace)
	if p.BaselineFactor < 0 {
		fe.Add("password_spraying.baseline_factor", "must not be negative")
	}
	if p.DistributedWindow > 0 && p.Grace >= p.DistributedWindow {
		fe.Add("password_spraying.grace", "must be shorter than distributed_window")
	}
	e := c.Enumeration
	dur("account_enumeration.window", e.Window)
	pos("account_enumeration.accounts", e.Accounts)
	pos("account_enumeration.subnet_accounts", e.SubnetAccounts)
	for i, a := range c.Decoy.Accounts {
		if strings.TrimSpace(a) == "" {
			fe.Addf(fmt.Sprintf("decoy.accounts[%d]", i), "must not be empty")
		}
	}
	for i, a := range c.Privileged.Accounts {
		if _, err := path.Match(a, ""); err != nil || strings.TrimSpace(a) == "" {
			fe.Addf(fmt.Sprintf("privileged.accounts[%d]", i), "%q is not a name or a valid pattern", a)
		}
	}
	o := c.OffHours
	switch o.Scope {
	case "privileged", "all":
	default:
		fe.Addf("off_hours.scope", "must be privileged or all, not %q", o.Scope)
	}
	for i, d := range o.Days {
		if _, ok := weekdays[strings.ToLower(d)]; !ok {
			fe.Addf(fmt.Sprintf("off_hours.days[%d]", i), "%q is not a day (mon, tue, wed, thu, fri, sat, sun)", d)
		}
	}
	start, err1 := clockMinutes(o.Start)
	if err1 != nil {
		fe.Add("off_hours.start", err1.Error())
	}
	end, err2 := clockMinutes(o.End)
	if err2 != nil {
		fe.Add("off_hours.end", err2.Error())
	}
	if err1 == nil && err2 == nil && start >= end {
		fe.Add("off_hours.end", "must be after off_hours.start")
	}
	for i, h := range o.Holidays {
		if _, err := time.Parse("2006-01-02", h); err != nil {
			fe.Addf(fmt.Sprintf("off_hours.holidays[%d]", i), "%q is not a date like 2026-01-01", h)
		}
	}
	a := c.Alerts
	dur("alerts.merge_gap", a.MergeGap)
	dur("alerts.max_span", a.MaxSpan)
	pos("alerts.max_sources", a.MaxSources)
	pos("alerts.max_accounts", a.MaxAccounts)
	pos("alerts.max_evidence", a.MaxEvidence)
	l := c.Limits
	if l.MaxKeys < 16 {
		fe.Add("limits.max_keys", "must be at least 16")
	}
	if l.EvidenceBuffer < 16 {
		fe.Add("limits.evidence_buffer", "must be at least 16")
	}
	if l.MaxPending < 16 {
		fe.Add("limits.max_pending", "must be at least 16")
	}
	for i, t := range c.Block.Types {
		if !knownType(AlertType(t)) {
			fe.Addf(fmt.Sprintf("block.types[%d]", i), "%q is not an alert type", t)
		}
	}
	dur("block.duration", c.Block.Duration)
	for i, s := range c.Block.Allow {
		if _, err := parsePrefix(s); err != nil {
			fe.Addf(fmt.Sprintf("block.allow[%d]", i), "%q is not an address or prefix", s)
		}
	}
	return fe.Err()
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func clockMinutes(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		if s == "24:00" {
			return 24 * 60, nil
		}
		return 0, fmt.Errorf("%q is not a time like 08:00", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// parsePrefix reads "192.0.2.1" or "192.0.2.0/24".
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
