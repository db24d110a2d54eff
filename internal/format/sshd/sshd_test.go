package sshd

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mamori-dev/mamori/internal/detect"
)

func TestParseFile(t *testing.T) {
	b, err := os.ReadFile("testdata/auth.log")
	if err != nil {
		t.Fatal(err)
	}
	p := New(time.UTC, time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC))
	var evs []detect.Event
	var errs int
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		var err error
		evs, err = p.Parse(evs, []byte(l))
		if err != nil {
			errs++
		}
	}
	evs = p.Flush(evs)
	var got []string
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%s %s %s %s %s %s", e.Time.Format("15:04:05"), e.Outcome, e.Reason, e.User, e.Source, e.Service))
	}
	want := []string{
		"10:00:03 failure unknown_user oracle 203.0.113.5 sshd",
		"10:00:05 failure unknown_user oracle 203.0.113.5 sshd",
		"10:01:02 failure bad_password root 198.51.100.7 sshd",
		"10:01:12 failure bad_password root 198.51.100.7 sshd",
		"10:01:12 failure bad_password root 198.51.100.7 sshd",
		"10:01:12 failure bad_password root 198.51.100.7 sshd",
		"10:02:00 failure unknown_user test 2001:db8::5 sshd",
		"10:03:00 success  deploy 192.0.2.10 sshd",
		"10:04:00 failure aborted admin 192.0.2.99 sshd",
		"10:05:00 failure denied root 192.0.2.77 sshd",
		"10:07:00 failure bad_key alice 192.0.2.11 sshd",
		"10:07:05 success  alice 192.0.2.11 sshd",
		"10:09:00 failure unknown_user ghost 192.0.2.66 sshd",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if errs != 1 {
		t.Errorf("%d malformed lines, want 1", errs)
	}
	if evs[0].Host != "bastion" || evs[0].Action != detect.ActionLogin {
		t.Errorf("host %q action %q", evs[0].Host, evs[0].Action)
	}
}

func TestMalformed(t *testing.T) {
	for _, l := range []string{
		"Mar  2 10:00:01 h sshd[1]: message repeated x times: [ Failed password for root from 1.2.3.4 port 1 ssh2]",
		"Mar  2 10:00:01 h sshd[1]: Failed password for root from nowhere port 1 ssh2",
		"Mar  2 10:00:01 h sshd[1]: Invalid user bob from 999.0.0.1",
		"Mar  2 10:00:01 h sshd[1]: Failed password",
		"Mar  2 10:00:01 h sshd[1]: Connection closed by authenticating user root",
	} {
		p := New(time.UTC, time.Time{})
		if _, err := p.Parse(nil, []byte(l)); err == nil {
			t.Errorf("%q: no error", l)
		}
	}
}

func TestBoundedState(t *testing.T) {
	p := New(time.UTC, time.Time{})
	for i := range 3 * maxPending {
		l := fmt.Sprintf("Mar  2 10:00:01 h sshd[%d]: Invalid user u%d from 192.0.2.1 port 1", i, i)
		if _, err := p.Parse(nil, []byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	if len(p.pending) > maxPending || len(p.order) > 2*maxPending+1 {
		t.Errorf("pending %d order %d", len(p.pending), len(p.order))
	}
}

func FuzzParse(f *testing.F) {
	b, _ := os.ReadFile("testdata/auth.log")
	for _, l := range strings.Split(string(b), "\n") {
		f.Add([]byte(l))
	}
	b, _ = os.ReadFile("testdata/variants.log")
	for _, l := range strings.Split(string(b), "\n") {
		f.Add([]byte(l))
	}
	f.Add([]byte("Mar 2 11:00:05 h sshd[1]: error: PAM: x for from 192.0.2.1"))
	f.Fuzz(func(t *testing.T, line []byte) {
		p := New(time.UTC, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		evs, _ := p.Parse(nil, line)
		evs = p.Flush(evs)
		if len(evs) > 1000 {
			t.Fatalf("%d events from one line", len(evs))
		}
		for _, e := range evs {
			if e.Time.IsZero() || e.Outcome == "" {
				t.Fatalf("incomplete event %+v from %q", e, line)
			}
		}
	})
}

func TestVariants(t *testing.T) {
	b, err := os.ReadFile("testdata/variants.log")
	if err != nil {
		t.Fatal(err)
	}
	p := New(time.UTC, time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC))
	var evs []detect.Event
	for i, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		var err error
		if evs, err = p.Parse(evs, []byte(l)); err != nil {
			t.Errorf("line %d: %v", i+1, err)
		}
	}
	evs = p.Flush(evs)
	var got []string
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%s %s|%s|%s|%s", e.Time.Format("15:04:05"), e.Reason, e.User, e.Source, e.Domain))
	}
	want := []string{
		"11:00:00 unknown_user|eve from 192.0.2.200 port 1111 ssh2|203.0.113.250|",
		"11:00:01 bad_password|alice|203.0.113.251|",
		"11:00:02 unknown_user|from 192.0.2.202|203.0.113.252|",
		"11:00:03 aborted|bob 192.0.2.203 port 1|203.0.113.253|",
		"11:00:04 bad_password|carol|203.0.113.254|",
		"11:00:05 bad_password|dave|invalid IP|gw.example.net",
		"11:00:06 unknown_user|mallory|198.51.100.2|",
		"11:00:08 denied|root|198.51.100.4|",
		"11:00:09 bad_password|trent|198.51.100.5|",
		"11:00:10 aborted|root|198.51.100.6|",
		"11:00:11 unknown_user||198.51.100.7|",
		"11:00:13 denied|oscar|invalid IP|gw2.example.net",
		"11:00:07 denied|root|198.51.100.3|",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
