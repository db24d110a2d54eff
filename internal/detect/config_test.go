package detect_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/detect"
)

func TestDefaultIsValid(t *testing.T) {
	c := detect.Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.TimeZone != "Asia/Tokyo" {
		t.Errorf("default time zone %q", c.TimeZone)
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name, doc string
		check     func(t *testing.T, c detect.Config)
		badKeys   []string
	}{
		{name: "empty keeps defaults", doc: "", check: func(t *testing.T, c detect.Config) {
			if c.BruteForce.AccountFailures != detect.Default().BruteForce.AccountFailures {
				t.Error("default lost")
			}
		}},
		{name: "yaml overlay", doc: "brute_force:\n  account_failures: 8\n  window: 2d\ndecoy:\n  accounts: [honey]\n", check: func(t *testing.T, c detect.Config) {
			if c.BruteForce.AccountFailures != 8 || c.BruteForce.Window.D() != 48*time.Hour || c.Decoy.Accounts[0] != "honey" {
				t.Errorf("got %+v", c.BruteForce)
			}
			if c.BruteForce.SourceFailures != detect.Default().BruteForce.SourceFailures {
				t.Error("unset key lost its default")
			}
		}},
		{name: "json overlay", doc: `{"credential_stuffing":{"source_accounts":7,"window":"90s"}}`, check: func(t *testing.T, c detect.Config) {
			if c.Stuffing.SourceAccounts != 7 || c.Stuffing.Window.D() != 90*time.Second {
				t.Errorf("got %+v", c.Stuffing)
			}
		}},
		{name: "every bad key named", doc: "time_zone: Mars/Base\nbrute_force:\n  account_failures: 0\n  window: 0s\noff_hours:\n  scope: some\n  days: [mon, funday]\n  start: '25:00'\nblock:\n  types: [brute_force, nonsense]\n  allow: [not-an-ip]\n",
			badKeys: []string{"time_zone", "brute_force.account_failures", "brute_force.window", "off_hours.scope", "off_hours.days[1]", "off_hours.start", "block.types[1]", "block.allow[0]"}},
		{name: "end before start", doc: "off_hours:\n  start: '20:00'\n  end: '08:00'\n", badKeys: []string{"off_hours.end"}},
		{name: "grace longer than window", doc: "password_spraying:\n  grace: 7h\n", badKeys: []string{"password_spraying.grace"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := detect.ParseConfig([]byte(tt.doc))
			if len(tt.badKeys) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, c)
				return
			}
			fields := mamori.ErrorFields(err)
			for _, k := range tt.badKeys {
				if _, ok := fields[k]; !ok {
					t.Errorf("error does not name %s: %v", k, err)
				}
			}
		})
	}
}

func TestParseConfigRefusesUnknownKeys(t *testing.T) {
	for _, doc := range []string{"brute_force:\n  acount_failures: 3\n", `{"bruteforce":{}}`, "nope: 1\n"} {
		if _, err := detect.ParseConfig([]byte(doc)); err == nil || mamori.ErrorCode(err) != mamori.EINVALID {
			t.Errorf("%q: want EINVALID, got %v", doc, err)
		}
	}
}

func TestConfigSet(t *testing.T) {
	c := detect.Default()
	if err := c.Set("brute_force.account_failures", "12"); err != nil || c.BruteForce.AccountFailures != 12 {
		t.Fatalf("set int: %v %d", err, c.BruteForce.AccountFailures)
	}
	if err := c.Set("password_spraying.window", "2d"); err != nil || c.Spraying.Window.D() != 48*time.Hour {
		t.Fatalf("set duration: %v", err)
	}
	if err := c.Set("stuffing.window", "1m"); err == nil {
		t.Error("unknown key accepted")
	}
	if err := c.Set("brute_force", "1"); err == nil {
		t.Error("section accepted as a value")
	}
	if err := c.Set("brute_force.account_failures", "0"); mamori.ErrorFields(err)["brute_force.account_failures"] == "" {
		t.Errorf("invalid value: %v", err)
	}
	if err := c.Set("brute_force.account_failures", "ten"); err == nil {
		t.Error("non-number accepted")
	}
}

func TestDurationText(t *testing.T) {
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "10m": 10 * time.Minute, "2d": 48 * time.Hour, "1h30m": 90 * time.Minute} {
		var d detect.Duration
		if err := d.UnmarshalText([]byte(in)); err != nil || d.D() != want {
			t.Errorf("%s: %v %v", in, d.D(), err)
		}
	}
	var d detect.Duration
	if err := d.UnmarshalText([]byte("soon")); err == nil || !strings.Contains(err.Error(), "duration") {
		t.Errorf("bad duration: %v", err)
	}
	b, _ := detect.Duration(72 * time.Hour).MarshalText()
	if string(b) != "3d" {
		t.Errorf("3 days marshal as %s", b)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("brute_force:\n  account_failures: 8\n"))
	f.Add([]byte(`{"decoy":{"accounts":["a"]}}`))
	f.Add([]byte("off_hours:\n  days: [mon]\n  start: '08:00'\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := detect.ParseConfig(b)
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("parsed config does not validate: %v", verr)
			}
		}
	})
}
