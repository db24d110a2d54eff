// Package config holds mamori's configuration: defaults, an optional YAML
// file, MAMORI_* environment variables and command-line flags, in that order
// of precedence (later wins). Validation reports every problem with its key.
package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/mamori-dev/mamori"
)

// Config is the effective configuration.
type Config struct {
	DataDir     string
	DatabaseURL string

	Addr           string
	BaseURL        string
	TLSCert        string
	TLSKey         string
	MetricsAddr    string
	MetricsToken   string
	TrustedProxies []string
	MaxBodyBytes   int64
	MaxUploadBytes int64

	LogLevel  string
	LogFormat string
	DevMode   bool

	SMTPHost     string
	SMTPPort     int
	SMTPUsername string
	SMTPPassword string
	SMTPFrom     string
	SMTPTLS      string

	SessionIdle         time.Duration
	SessionAbsolute     time.Duration
	StepUpWindow        time.Duration
	MFARequired         string
	InactiveDisableDays int

	KeysetFile string

	BackupDirs         []string
	BackupRetention    int
	BackupInterval     time.Duration
	CheckpointDir      string
	CheckpointWebhook  string
	CheckpointInterval time.Duration
}

// option is one row of THE table of configuration keys.
type option struct {
	key    string // dotted key in the file; env is MAMORI_ + upper snake
	def    string // default, in the same text form as env and flags
	secret bool
	help   string
	set    func(c *Config, v string) error
	get    func(c *Config) string
	check  func(c *Config) string // "" when valid
}

func str(p func(*Config) *string) field {
	return field{
		set: func(c *Config, v string) error { *p(c) = strings.TrimSpace(v); return nil },
		get: func(c *Config) string { return *p(c) },
	}
}

func integer(p func(*Config) *int) field {
	return field{
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("must be a whole number")
			}
			*p(c) = n
			return nil
		},
		get: func(c *Config) string { return strconv.Itoa(*p(c)) },
	}
}

func size(p func(*Config) *int64) field {
	return field{
		set: func(c *Config, v string) error {
			n, err := parseSize(v)
			if err != nil {
				return err
			}
			*p(c) = n
			return nil
		},
		get: func(c *Config) string { return strconv.FormatInt(*p(c), 10) },
	}
}

func boolean(p func(*Config) *bool) field {
	return field{
		set: func(c *Config, v string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("must be true or false")
			}
			*p(c) = b
			return nil
		},
		get: func(c *Config) string { return strconv.FormatBool(*p(c)) },
	}
}

func duration(p func(*Config) *time.Duration) field {
	return field{
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("must be a duration such as 30m or 12h")
			}
			*p(c) = d
			return nil
		},
		get: func(c *Config) string { return p(c).String() },
	}
}

func list(p func(*Config) *[]string) field {
	return field{
		set: func(c *Config, v string) error {
			var out []string
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
			*p(c) = out
			return nil
		},
		get: func(c *Config) string { return strings.Join(*p(c), ",") },
	}
}

// field reads and writes one Config field from and to its text form.
type field struct {
	set func(c *Config, v string) error
	get func(c *Config) string
}

func opt(key, def string, secret bool, help string, f field, check func(*Config) string) option {
	return option{key: key, def: def, secret: secret, help: help, set: f.set, get: f.get, check: check}
}

// options is THE table of configuration keys.
func options() []option {
	return []option{
		opt("data_dir", "data", false, "directory for the embedded database, keys and files",
			str(func(c *Config) *string { return &c.DataDir }), checkDataDir),
		opt("database_url", "", true, "postgres:// URL; empty uses embedded SQLite in data_dir",
			str(func(c *Config) *string { return &c.DatabaseURL }), checkDatabaseURL),
		opt("addr", "127.0.0.1:8080", false, "HOST:PORT the web server listens on",
			str(func(c *Config) *string { return &c.Addr }),
			func(c *Config) string { return checkHostPort(c.Addr) }),
		opt("base_url", "", false, "external URL of mamori (for links in mail and passkeys); default http://localhost:PORT",
			str(func(c *Config) *string { return &c.BaseURL }), checkBaseURL),
		opt("tls.cert", "", false, "PEM certificate file; with tls.key, serve HTTPS",
			str(func(c *Config) *string { return &c.TLSCert }), checkTLS),
		opt("tls.key", "", false, "PEM private key file",
			str(func(c *Config) *string { return &c.TLSKey }), nil),
		opt("metrics.addr", "", false, "separate HOST:PORT for Prometheus /metrics; empty serves it on addr with metrics.token",
			str(func(c *Config) *string { return &c.MetricsAddr }),
			func(c *Config) string {
				if c.MetricsAddr == "" {
					return ""
				}
				return checkHostPort(c.MetricsAddr)
			}),
		opt("metrics.token", "", true, "bearer token Prometheus sends for /metrics on the main address",
			str(func(c *Config) *string { return &c.MetricsToken }),
			func(c *Config) string {
				if c.MetricsToken != "" && len(c.MetricsToken) < 32 {
					return "must be at least 32 characters"
				}
				return ""
			}),
		opt("trusted_proxies", "", false, "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed",
			list(func(c *Config) *[]string { return &c.TrustedProxies }),
			func(c *Config) string {
				for _, p := range c.TrustedProxies {
					if _, err := netip.ParsePrefix(p); err != nil {
						return fmt.Sprintf("%q is not a CIDR such as 10.0.0.0/8", p)
					}
				}
				return ""
			}),
		opt("limits.body", "1MiB", false, "largest request body for forms and JSON",
			size(func(c *Config) *int64 { return &c.MaxBodyBytes }),
			func(c *Config) string { return checkRange64(c.MaxBodyBytes, 1<<10, 1<<30) }),
		opt("limits.upload", "64MiB", false, "largest uploaded file (SBOMs, advisories, evidence)",
			size(func(c *Config) *int64 { return &c.MaxUploadBytes }),
			func(c *Config) string { return checkRange64(c.MaxUploadBytes, 1<<10, 8<<30) }),
		opt("log.level", "info", false, "debug, info, warn or error",
			str(func(c *Config) *string { return &c.LogLevel }),
			oneOf(func(c *Config) string { return c.LogLevel }, "debug", "info", "warn", "error")),
		opt("log.format", "json", false, "json or text",
			str(func(c *Config) *string { return &c.LogFormat }),
			oneOf(func(c *Config) string { return c.LogFormat }, "json", "text")),
		opt("dev_mode", "false", false, "development mode: without SMTP, mail is written to the server log",
			boolean(func(c *Config) *bool { return &c.DevMode }), nil),
		opt("smtp.host", "", false, "SMTP server for notifications and password resets",
			str(func(c *Config) *string { return &c.SMTPHost }), checkSMTP),
		opt("smtp.port", "587", false, "SMTP port",
			integer(func(c *Config) *int { return &c.SMTPPort }),
			func(c *Config) string { return checkRange(c.SMTPPort, 1, 65535) }),
		opt("smtp.username", "", false, "SMTP user name",
			str(func(c *Config) *string { return &c.SMTPUsername }), nil),
		opt("smtp.password", "", true, "SMTP password",
			str(func(c *Config) *string { return &c.SMTPPassword }), nil),
		opt("smtp.from", "", false, "sender address of mamori's mail",
			str(func(c *Config) *string { return &c.SMTPFrom }), nil),
		opt("smtp.tls", "starttls", false, "starttls, tls (implicit) or none (only for a local relay)",
			str(func(c *Config) *string { return &c.SMTPTLS }),
			oneOf(func(c *Config) string { return c.SMTPTLS }, "starttls", "tls", "none")),
		opt("session.idle_timeout", "30m", false, "a session ends after this long without use",
			duration(func(c *Config) *time.Duration { return &c.SessionIdle }),
			func(c *Config) string { return checkDuration(c.SessionIdle, time.Minute, 24*time.Hour) }),
		opt("session.absolute_timeout", "12h", false, "a session ends this long after sign-in, used or not",
			duration(func(c *Config) *time.Duration { return &c.SessionAbsolute }),
			func(c *Config) string {
				if m := checkDuration(c.SessionAbsolute, 5*time.Minute, 7*24*time.Hour); m != "" {
					return m
				}
				if c.SessionAbsolute < c.SessionIdle {
					return "must not be shorter than session.idle_timeout"
				}
				return ""
			}),
		opt("session.step_up_window", "5m", false, "how recent a sign-in must be for sensitive changes",
			duration(func(c *Config) *time.Duration { return &c.StepUpWindow }),
			func(c *Config) string { return checkDuration(c.StepUpWindow, time.Minute, time.Hour) }),
		opt("security.mfa_required", "writers", false, "writers (every role that can change data) or all",
			str(func(c *Config) *string { return &c.MFARequired }),
			oneOf(func(c *Config) string { return c.MFARequired }, "writers", "all")),
		opt("security.inactive_disable_days", "90", false, "disable accounts unused for this many days (0 = never)",
			integer(func(c *Config) *int { return &c.InactiveDisableDays }),
			func(c *Config) string { return checkRange(c.InactiveDisableDays, 0, 3650) }),
		opt("keys.keyset_file", "", false, "key-encryption keyset (created at first start, mode 0600); default DATA_DIR/keys/kek.json",
			str(func(c *Config) *string { return &c.KeysetFile }), nil),
		opt("backup.dirs", "", false, "comma-separated directories (one or two) for scheduled backups; empty disables them",
			list(func(c *Config) *[]string { return &c.BackupDirs }),
			func(c *Config) string {
				if len(c.BackupDirs) > 2 {
					return "at most two directories"
				}
				return ""
			}),
		opt("backup.retention", "14", false, "how many scheduled backups to keep in each directory",
			integer(func(c *Config) *int { return &c.BackupRetention }),
			func(c *Config) string { return checkRange(c.BackupRetention, 1, 1000) }),
		opt("backup.interval", "24h", false, "time between scheduled backups",
			duration(func(c *Config) *time.Duration { return &c.BackupInterval }),
			func(c *Config) string { return checkDuration(c.BackupInterval, time.Minute, 31*24*time.Hour) }),
		opt("audit.checkpoint_dir", "", false, "directory (outside the database administrator's control) to publish signed audit checkpoints to",
			str(func(c *Config) *string { return &c.CheckpointDir }), nil),
		opt("audit.checkpoint_interval", "5m", false, "how often the server signs an audit checkpoint when the trail has grown",
			duration(func(c *Config) *time.Duration { return &c.CheckpointInterval }),
			func(c *Config) string { return checkDuration(c.CheckpointInterval, 10*time.Second, 24*time.Hour) }),
		opt("audit.checkpoint_webhook", "", true, "URL to POST each signed audit checkpoint to",
			str(func(c *Config) *string { return &c.CheckpointWebhook }),
			func(c *Config) string {
				if c.CheckpointWebhook == "" {
					return ""
				}
				u, err := url.Parse(c.CheckpointWebhook)
				if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
					return "must be an http(s) URL"
				}
				return ""
			}),
	}
}

// EnvName returns the environment variable for a key.
func EnvName(key string) string {
	return "MAMORI_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// Source is where the configuration comes from.
type Source struct {
	File    string            // optional YAML file; "" means none (or MAMORI_CONFIG)
	Environ []string          // os.Environ() form
	Flags   map[string]string // key → value, from command-line flags
}

// Load builds the configuration and validates it. The error, if any, is an
// EINVALID mamori.Error whose Fields name every bad key.
func Load(src Source) (*Config, error) {
	c := &Config{}
	problems := mamori.FieldErrors{}
	opts := options()
	byKey := make(map[string]option, len(opts))
	byEnv := make(map[string]option, len(opts))
	for _, o := range opts {
		byKey[o.key] = o
		byEnv[EnvName(o.key)] = o
		if err := o.set(c, o.def); err != nil {
			panic("config: bad default for " + o.key)
		}
	}
	env := map[string]string{}
	for _, kv := range src.Environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, "MAMORI_") {
			env[k] = v
		}
	}
	file := src.File
	if file == "" {
		file = env["MAMORI_CONFIG"]
	}
	if file != "" {
		values, err := readFile(file)
		if err != nil {
			problems.Add("config", err.Error())
		}
		for k, v := range values {
			o, ok := byKey[k]
			if !ok {
				problems.Add(k, "unknown key in "+file)
				continue
			}
			if err := o.set(c, v); err != nil {
				problems.Add(k, err.Error())
			}
		}
	}
	for k, v := range env {
		if k == "MAMORI_CONFIG" || strings.HasPrefix(k, "MAMORI_TEST_") || strings.HasPrefix(k, "MAMORI_SHARED_") {
			continue
		}
		if base, ok := strings.CutSuffix(k, "_FILE"); ok {
			if o, ok := byEnv[base]; ok && o.secret {
				b, err := os.ReadFile(v)
				if err != nil {
					problems.Add(o.key, "cannot read "+k+": "+err.Error())
					continue
				}
				_ = o.set(c, strings.TrimSpace(string(b)))
				continue
			}
		}
		o, ok := byEnv[k]
		if !ok {
			problems.Add(k, "unknown environment variable")
			continue
		}
		if err := o.set(c, v); err != nil {
			problems.Add(o.key, err.Error())
		}
	}
	keys := make([]string, 0, len(src.Flags))
	for k := range src.Flags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		o, ok := byKey[k]
		if !ok {
			problems.Add(k, "unknown key")
			continue
		}
		if err := o.set(c, src.Flags[k]); err != nil {
			problems.Add(k, err.Error())
		}
	}
	// Checks run even after parse problems, so one run names every bad key;
	// Add keeps the parse problem where a key has both.
	for _, o := range opts {
		if o.check == nil {
			continue
		}
		if msg := o.check(c); msg != "" {
			problems.Add(o.key, msg)
		}
	}
	if err := problems.Err(); err != nil {
		return nil, &mamori.Error{Code: mamori.EINVALID, Message: "The configuration is invalid.", Fields: problems}
	}
	c.derive()
	return c, nil
}

// derive fills defaults that depend on other keys.
func (c *Config) derive() {
	if c.BaseURL == "" {
		scheme := "http"
		if c.TLSCert != "" {
			scheme = "https"
		}
		host, port, _ := net.SplitHostPort(c.Addr)
		if host == "" || host == "0.0.0.0" || host == "::" || host == "127.0.0.1" || host == "::1" {
			host = "localhost"
		}
		c.BaseURL = scheme + "://" + net.JoinHostPort(host, port)
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.KeysetFile == "" {
		c.KeysetFile = filepath.Join(c.DataDir, "keys", "kek.json")
	}
}

// TLS reports whether the server serves HTTPS.
func (c *Config) TLS() bool { return c.TLSCert != "" }

// Setting is one key of the effective configuration, for display.
type Setting struct {
	Key, Value, Env, Help string
	Secret                bool
}

// Redacted lists every key with its effective value, secrets masked (a
// database URL keeps everything but its password).
func (c *Config) Redacted() []Setting {
	var out []Setting
	for _, o := range options() {
		v := o.get(c)
		if o.secret && v != "" {
			if o.key == "database_url" {
				v = redactURL(v)
			} else {
				v = "[REDACTED]"
			}
		}
		out = append(out, Setting{Key: o.key, Value: v, Env: EnvName(o.key), Help: o.help, Secret: o.secret})
	}
	return out
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "[REDACTED]"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
	}
	return u.String()
}

// String keeps secrets out of logs if a Config is ever printed whole.
func (c *Config) String() string { return "config.Config{…}" }

// LogValue keeps secrets out of structured logs.
func (c *Config) LogValue() slog.Value { return slog.StringValue("config.Config{…}") }

func readFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %v", path, unwrapPathError(err))
	}
	var tree map[string]any
	if err := yaml.Unmarshal(b, &tree); err != nil {
		return nil, fmt.Errorf("%s is not valid YAML: %v", path, err)
	}
	out := map[string]string{}
	flatten("", tree, out)
	return out, nil
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func flatten(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, vv := range x {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			flatten(key, vv, out)
		}
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, fmt.Sprint(e))
		}
		out[prefix] = strings.Join(parts, ",")
	case nil:
		out[prefix] = ""
	default:
		out[prefix] = fmt.Sprint(x)
	}
}

func parseSize(v string) (int64, error) {
	v = strings.TrimSpace(v)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"B", 1}} {
		if s, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = strings.TrimSpace(s), u.m
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("must be a size such as 1048576, 512KiB or 64MiB")
	}
	return n * mult, nil
}

func oneOf(get func(*Config) string, allowed ...string) func(*Config) string {
	return func(c *Config) string {
		v := get(c)
		for _, a := range allowed {
			if v == a {
				return ""
			}
		}
		return fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, ", "))
	}
}

func checkRange(n, lo, hi int) string {
	if n < lo || n > hi {
		return fmt.Sprintf("must be between %d and %d", lo, hi)
	}
	return ""
}

func checkRange64(n, lo, hi int64) string {
	if n < lo || n > hi {
		return fmt.Sprintf("must be between %d and %d bytes", lo, hi)
	}
	return ""
}

func checkDuration(d, lo, hi time.Duration) string {
	if d < lo || d > hi {
		return fmt.Sprintf("must be between %s and %s", lo, hi)
	}
	return ""
}

func checkHostPort(v string) string {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Sprintf("%q is not HOST:PORT", v)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Sprintf("port %q is not a number from 0 to 65535", port)
	}
	return ""
}

func checkDataDir(c *Config) string {
	if c.DatabaseURL != "" && c.DataDir == "" {
		return ""
	}
	if c.DataDir == "" {
		return "is required"
	}
	fi, err := os.Stat(c.DataDir)
	switch {
	case err == nil && !fi.IsDir():
		return fmt.Sprintf("%s is not a directory", c.DataDir)
	case err == nil:
		// Writable? Try to create and remove a probe file.
		f, err := os.CreateTemp(c.DataDir, ".probe-*")
		if err != nil {
			return fmt.Sprintf("%s is not writable: %v", c.DataDir, unwrapPathError(err))
		}
		name := f.Name()
		f.Close()
		os.Remove(name)
	case os.IsNotExist(err):
		parent := filepath.Dir(filepath.Clean(c.DataDir))
		if pfi, perr := os.Stat(parent); perr != nil || !pfi.IsDir() {
			return fmt.Sprintf("%s does not exist and its parent %s is not a directory", c.DataDir, parent)
		}
	default:
		return fmt.Sprintf("%s cannot be read: %v", c.DataDir, unwrapPathError(err))
	}
	return ""
}

func checkDatabaseURL(c *Config) string {
	if c.DatabaseURL == "" {
		return ""
	}
	u, err := url.Parse(c.DatabaseURL)
	if err != nil {
		return "is not a valid URL"
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return "must start with postgres:// (or be empty for the embedded database)"
	}
	if u.Host == "" {
		return "must name a host, as in postgres://user@127.0.0.1:5432/mamori"
	}
	if strings.Trim(u.Path, "/") == "" {
		return "must name a database, as in postgres://user@127.0.0.1:5432/mamori"
	}
	return ""
}

func checkBaseURL(c *Config) string {
	if c.BaseURL == "" {
		return ""
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return "must be an origin such as https://mamori.example.co.jp (no path)"
	}
	return ""
}

func checkTLS(c *Config) string {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return "tls.cert and tls.key must be given together"
	}
	for _, f := range []string{c.TLSCert, c.TLSKey} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return fmt.Sprintf("cannot read %s: %v", f, unwrapPathError(err))
		}
	}
	return ""
}

func checkSMTP(c *Config) string {
	if c.SMTPHost == "" {
		return ""
	}
	if c.SMTPFrom == "" {
		return "smtp.from is required when smtp.host is set"
	}
	if _, err := mail.ParseAddress(c.SMTPFrom); err != nil {
		return "smtp.from is not a valid e-mail address"
	}
	return ""
}
