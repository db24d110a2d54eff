package syslog

import (
	"errors"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	ref := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		line                string
		time                string
		pri                 int
		host, app, pid, msg string
		version             int
		data                string
	}{
		{line: "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186", time: "2025-12-10T06:55:46Z", pri: -1,
			host: "LabSZ", app: "sshd", pid: "24200", msg: "Invalid user webmaster from 173.234.31.186"},
		{line: "Jun  4 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; rhost=218.188.2.4 ", time: "2026-06-04T15:16:01Z", pri: -1,
			host: "combo", app: "sshd(pam_unix)", pid: "19939", msg: "authentication failure; rhost=218.188.2.4 "},
		{line: "<38>Nov 21 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8", time: "2026-11-21T22:14:15Z", pri: 38,
			host: "mymachine", app: "su", msg: "'su root' failed for lonvick on /dev/pts/8"},
		{line: "2026-03-02T10:00:00.123456+09:00 web1 sshd[7]: Accepted publickey for a from 192.0.2.1 port 1 ssh2", time: "2026-03-02T01:00:00.123456Z", pri: -1,
			host: "web1", app: "sshd", pid: "7", msg: "Accepted publickey for a from 192.0.2.1 port 1 ssh2"},
		{line: "<34>1 2026-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xef\xbb\xbf'su root' failed", time: "2026-10-11T22:14:15.003Z", pri: 34, version: 1,
			host: "mymachine.example.com", app: "su", msg: "'su root' failed"},
		{line: `<165>1 2026-10-11T22:14:15Z host app 42 - [exampleSDID@32473 iut="3" eventSource="App\]lication"][x@1 a="b"] hello`, time: "2026-10-11T22:14:15Z", pri: 165, version: 1,
			host: "host", app: "app", pid: "42", msg: "hello", data: `[exampleSDID@32473 iut="3" eventSource="App\]lication"][x@1 a="b"]`},
		{line: "Dec 10 06:55:46 LabSZ last message repeated 3 times", time: "2025-12-10T06:55:46Z", pri: -1, host: "LabSZ", msg: "last message repeated 3 times"},
	}
	for _, tt := range tests {
		p := Parser{Reference: ref}
		m, err := p.Parse([]byte(tt.line))
		if err != nil {
			t.Errorf("%q: %v", tt.line, err)
			continue
		}
		if got := m.Time.Format(time.RFC3339Nano); got != tt.time {
			t.Errorf("%q: time %s, want %s", tt.line, got, tt.time)
		}
		if m.Priority != tt.pri || string(m.Host) != tt.host || string(m.App) != tt.app || string(m.PID) != tt.pid || string(m.Msg) != tt.msg || m.Version != tt.version || string(m.Data) != tt.data {
			t.Errorf("%q:\n got pri=%d host=%q app=%q pid=%q msg=%q v=%d sd=%q", tt.line, m.Priority, m.Host, m.App, m.PID, m.Msg, m.Version, m.Data)
		}
	}
}

func TestYearInference(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	p := Parser{Location: tokyo, Reference: time.Date(2027, 1, 5, 0, 0, 0, 0, tokyo)}
	want := []string{"2026-12-31T23:59:59+09:00", "2027-01-01T00:00:01+09:00", "2026-12-31T23:59:58+09:00"}
	for i, l := range []string{"Dec 31 23:59:59 h a: x", "Jan  1 00:00:01 h a: x", "Dec 31 23:59:58 h a: late"} {
		m, err := p.Parse([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Time.In(tokyo).Format(time.RFC3339); got != want[i] {
			t.Errorf("line %d: %s, want %s", i, got, want[i])
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, l := range []string{"", "hello world", "<999>Dec 10 06:55:46 h a: x", "Dec 32 06:55:46 h a: x", "Feb 30 06:55:46 h a: x",
		"Xyz 10 06:55:46 h a: x", "Dec 10 06:55:46", "<34>1 notatime host app - - - msg", "<34>1 2026-10-11T22:14:15Z h a - - [unterminated", "<34>1 2026-10-11T22:14:15Z"} {
		p := Parser{Reference: time.Now()}
		if _, err := p.Parse([]byte(l)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: want ErrMalformed, got %v", l, err)
		}
	}
}

func TestInterner(t *testing.T) {
	in := Interner{Max: 2}
	a := in.String([]byte("root"))
	if b := in.String([]byte("root")); a != b {
		t.Fatal("different strings")
	}
	in.String([]byte("x"))
	in.String([]byte("y")) // past Max: starts over, still correct
	if in.String([]byte("root")) != "root" {
		t.Fatal("wrong value after reset")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user x from 1.2.3.4", "<34>1 2026-10-11T22:14:15.003Z h su - ID47 [a b=\"c\"] msg",
		"2026-03-02T10:00:00+09:00 h a[1]: m", "<13>Jan  1 00:00:00 h a: m"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p := Parser{Reference: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		m, err := p.Parse(b)
		if err == nil && m.Time.IsZero() && m.Version == 0 {
			t.Fatalf("RFC 3164 line parsed without a time: %q", b)
		}
	})
}
