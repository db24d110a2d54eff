package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

func runDetectCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	r := runCLI(t, nil, "", args...)
	return r.code, r.stdout, r.stderr
}

// bruteForceFile writes NDJSON: 6 failures on alice, then a success.
func bruteForceFile(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for i := range 6 {
		fmt.Fprintf(&b, `{"@timestamp":"2026-03-02T01:00:%02dZ","event.action":"login","event.outcome":"failure","event.reason":"bad_password","user.name":"alice","source.ip":"192.0.2.%d"}`+"\n", i, i+1)
	}
	b.WriteString(`{"@timestamp":"2026-03-02T01:01:00Z","event.action":"login","event.outcome":"success","user.name":"alice","source.ip":"192.0.2.3"}` + "\n")
	b.WriteString(`{"@timestamp":"2026-03-02T01:02:00Z","event.action":"login","event.outcome":"failure","user.name":"honey","source.ip":"198.51.100.1"}` + "\n")
	b.WriteString("this line is broken\n")
	p := filepath.Join(t.TempDir(), "events.ndjson")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReplayJSON(t *testing.T) {
	file := bruteForceFile(t)
	code, out, errs := runDetectCLI(t, "detect", "replay", "--events", file, "--decoy", "honey")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc map[string][]map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	alerts := doc["alerts"]
	if len(alerts) != 2 {
		t.Fatalf("alerts: %s", out)
	}
	for _, a := range alerts {
		var keys []string
		for k := range a {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		base := slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return k == "compromised" })
		if !slices.Equal(base, []string{"accounts", "end", "events", "severity", "sources", "start", "type"}) {
			t.Errorf("keys %v", keys)
		}
	}
	if a := alerts[0]; a["type"] != "brute_force" || a["severity"] != "critical" || a["events"] != float64(7) ||
		fmt.Sprint(a["compromised"]) != "[alice]" || a["start"] != "2026-03-02T01:00:04Z" {
		t.Errorf("first alert %v", a)
	}
	if alerts[1]["type"] != "decoy_account" {
		t.Errorf("second alert %v", alerts[1])
	}
	if !strings.Contains(errs, "1 malformed lines") || !strings.Contains(errs, "line 9:") {
		t.Errorf("stderr does not report the malformed line: %s", errs)
	}
}

func TestReplayTableAndSweep(t *testing.T) {
	file := bruteForceFile(t)
	code, out, errs := runDetectCLI(t, "detect", "replay", "--events", file, "--format", "table")
	if code != 0 || !strings.Contains(out, "TYPE") || !strings.Contains(out, "brute_force") || !strings.Contains(out, "alerts") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = runDetectCLI(t, "detect", "replay", "--events", file, "--sweep", "brute_force.account_failures=3,6,7")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var sw struct {
		Key    string
		Points []struct {
			Value  string
			Alerts int
			ByType map[string]int `json:"by_type"`
		}
	}
	if err := json.Unmarshal([]byte(out), &sw); err != nil {
		t.Fatal(err)
	}
	var bf []int
	for _, p := range sw.Points {
		bf = append(bf, p.ByType["brute_force"])
	}
	if sw.Key != "brute_force.account_failures" || !slices.Equal(bf, []int{1, 1, 0}) {
		t.Errorf("sweep %s", out)
	}
	code, out, _ = runDetectCLI(t, "detect", "replay", "--events", file, "--format", "table", "--sweep", "brute_force.account_failures=3,7")
	if code != 0 || !strings.Contains(out, "BRUTE_FORCE.ACCOUNT_FAILURES") {
		t.Errorf("sweep table: %s", out)
	}
}

func TestReplayUsageErrors(t *testing.T) {
	file := bruteForceFile(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("brute_force:\n  account_failures: 0\n"), 0o600)
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"detect"}, "subcommand"},
		{[]string{"detect", "rerun"}, "unknown subcommand"},
		{[]string{"detect", "replay"}, "--events FILE is required"},
		{[]string{"detect", "replay", "--events", file, "--format", "xml"}, "--format must be json or table"},
		{[]string{"detect", "replay", "--events", file, "--format-in", "xml"}, "--format-in must be one of"},
		{[]string{"detect", "replay", "--events", "/nonexistent/file"}, "cannot open --events"},
		{[]string{"detect", "replay", "--events", file, "--config", bad}, "brute_force.account_failures"},
		{[]string{"detect", "replay", "--events", file, "--sweep", "nope"}, "sweep"},
		{[]string{"detect", "replay", "--events", file, "--sweep", "brute_force.nope=1,2"}, "brute_force.nope"},
		{[]string{"detect", "replay", "--events", file, "--bogus"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		code, _, errs := runDetectCLI(t, tt.args...)
		if code != 2 || !strings.Contains(errs, tt.msg) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, errs, tt.msg)
		}
	}
}

func TestReplaySshd(t *testing.T) {
	code, out, errs := runDetectCLI(t, "detect", "replay", "--events", "../format/sshd/testdata/auth.log", "--format-in", "sshd")
	if code != 0 || !strings.Contains(out, `"alerts"`) {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	if !strings.Contains(errs, "(sshd)") {
		t.Errorf("stderr: %s", errs)
	}
}

// crowdsecFlagged are the sources CrowdSec 1.4.6 (Debian, replay mode, its
// sshd collection) flags for brute force on loghub's OpenSSH_2k sample;
// see docs/detection.md for the command and the run.
var crowdsecFlagged = []string{"103.207.39.16", "103.207.39.212", "103.99.0.122", "112.95.230.3", "119.4.203.64",
	"123.235.32.19", "183.62.140.253", "185.190.58.151", "187.141.143.180", "5.188.10.180", "60.2.12.12"}

func sharedData(t testing.TB, rel string) string {
	dir := os.Getenv("MAMORI_SHARED_DATA")
	if dir == "" {
		dir = "../../../shared/data" // ../shared/data from the repository root
	}
	p := filepath.Join(dir, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s is not here (set MAMORI_SHARED_DATA): %v", rel, err)
	}
	return p
}

// TestLoghubAgainstCrowdSec replays the real OpenSSH sample and checks that
// every source CrowdSec flags is named in a mamori alert.
func TestLoghubAgainstCrowdSec(t *testing.T) {
	file := sharedData(t, "logs/loghub/OpenSSH_2k.log")
	code, out, errs := runDetectCLI(t, "detect", "replay", "--events", file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc struct {
		Alerts []struct {
			Type    string
			Sources []string
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	flagged := map[string]bool{}
	for _, a := range doc.Alerts {
		for _, s := range a.Sources {
			flagged[s] = true
		}
	}
	for _, ip := range crowdsecFlagged {
		if !flagged[ip] {
			t.Errorf("CrowdSec flags %s, mamori does not", ip)
		}
	}
	var extra []string
	for s := range flagged {
		if !slices.Contains(crowdsecFlagged, s) {
			extra = append(extra, s)
		}
	}
	sort.Strings(extra)
	t.Logf("%d alerts; %d sources flagged; beyond CrowdSec: %v", len(doc.Alerts), len(flagged), extra)
}

func TestDetectConfig(t *testing.T) {
	code, out, errs := runDetectCLI(t, "detect", "config")
	if code != 0 || !strings.Contains(out, "time_zone: Asia/Tokyo") || !strings.Contains(out, "window: 10m\n") {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	f := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(f, []byte(out), 0o600)
	if code, out2, _ := runDetectCLI(t, "detect", "config", "--config", f); code != 0 || out2 != out {
		t.Errorf("the printed configuration does not read back the same (exit %d)", code)
	}
	os.WriteFile(f, []byte("off_hours:\n  scope: nobody\n"), 0o600)
	if code, _, errs := runDetectCLI(t, "detect", "config", "--config", f); code != 2 || !strings.Contains(errs, "off_hours.scope") {
		t.Errorf("bad config: exit %d, %s", code, errs)
	}
}

func TestReplayBlocklist(t *testing.T) {
	file := bruteForceFile(t)
	dir := t.TempDir()
	for _, name := range []string{"block.txt", "block.json"} {
		out := filepath.Join(dir, name)
		if code, _, errs := runDetectCLI(t, "detect", "replay", "--events", file, "--decoy", "honey", "--blocklist", out); code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		// The brute force's 6 sources and the decoy's one.
		if name == "block.txt" && strings.Count(string(b), "/32\n") != 7 {
			t.Errorf("text blocklist:\n%s", b)
		}
		if name == "block.json" && (!strings.Contains(string(b), `"source": "198.51.100.1/32"`) || !strings.Contains(string(b), `"decisions"`)) {
			t.Errorf("JSON blocklist:\n%s", b)
		}
	}
}

func TestReplayHelp(t *testing.T) {
	for _, args := range [][]string{{"detect", "replay", "-h"}, {"detect", "config", "--help"}, {"detect", "-h"}} {
		if code, _, errs := runDetectCLI(t, args...); code != 0 || !strings.Contains(errs, "Usage: mamori detect") {
			t.Errorf("%v: exit %d, %s", args, code, errs)
		}
	}
}
