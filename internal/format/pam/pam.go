// Package pam reads Linux PAM messages (pam_unix and modules that log the
// same way) from syslog-framed logs such as /var/log/auth.log or
// /var/log/secure, in both the modern "pam_unix(sshd:auth): …" and the old
// "sshd(pam_unix)[pid]: …" forms.
package pam

import (
	"bytes"
	"fmt"
	"net/netip"
	"time"

	"github.com/mamori-dev/mamori/internal/detect"
	"github.com/mamori-dev/mamori/internal/format/syslog"
)

// Parser reads PAM lines; other lines are ignored.
type Parser struct {
	Syslog  syslog.Parser
	intern  syslog.Interner
	unknown map[string]bool // pid → "check pass; user unknown" seen
}

// New returns a parser reading timestamps without a zone in loc, inferring
// years relative to ref (the zero time means now).
func New(loc *time.Location, ref time.Time) *Parser {
	return &Parser{Syslog: syslog.Parser{Location: loc, Reference: ref}}
}

// notSignIn are PAM services whose sessions are not people signing in.
var notSignIn = map[string]bool{"cron": true, "CRON": true, "crond": true, "systemd-user": true, "atd": true, "sudo": true, "runuser": true, "runuser-l": true}

// Parse implements detect.Parser.
func (p *Parser) Parse(dst []detect.Event, line []byte) ([]detect.Event, error) {
	if len(bytes.TrimSpace(line)) == 0 {
		return dst, nil
	}
	m, err := p.Syslog.Parse(line)
	if err != nil {
		return dst, err
	}
	return p.Message(dst, &m)
}

// Message reads one framed message.
func (p *Parser) Message(dst []detect.Event, m *syslog.Message) ([]detect.Event, error) {
	msg := m.Msg
	var service, kind []byte
	switch {
	case bytes.HasPrefix(msg, []byte("pam_")):
		// pam_unix(sshd:auth): …
		open := bytes.IndexByte(msg, '(')
		cl := bytes.Index(msg, []byte("): "))
		if open < 0 || cl < open {
			return dst, nil
		}
		inner := msg[open+1 : cl]
		c := bytes.IndexByte(inner, ':')
		if c < 0 {
			return dst, fmt.Errorf("malformed PAM line: no service:type")
		}
		service, kind = inner[:c], inner[c+1:]
		msg = msg[cl+3:]
	case bytes.HasSuffix(m.App, []byte("(pam_unix)")):
		// sshd(pam_unix)[pid]: … (older pam_unix)
		service = m.App[:len(m.App)-len("(pam_unix)")]
		if bytes.HasPrefix(msg, []byte("session ")) {
			kind = []byte("session")
		} else {
			kind = []byte("auth")
		}
	default:
		return dst, nil
	}
	svc := p.intern.String(service)
	pid := string(m.PID)
	base := detect.Event{Time: m.Time, Action: detect.ActionLogin, Service: svc, Host: p.intern.String(m.Host)}
	switch {
	case bytes.Equal(kind, []byte("auth")) && bytes.HasPrefix(msg, []byte("check pass; user unknown")):
		if p.unknown == nil {
			p.unknown = map[string]bool{}
		}
		if len(p.unknown) > 10_000 {
			clear(p.unknown)
		}
		p.unknown[pid] = true
		return dst, nil

	case bytes.Equal(kind, []byte("auth")) && bytes.HasPrefix(msg, []byte("authentication failure;")):
		ev := base
		ev.Outcome, ev.Reason = detect.OutcomeFailure, detect.ReasonBadPassword
		if p.unknown[pid] {
			ev.Reason = detect.ReasonUnknownUser
			delete(p.unknown, pid)
		}
		if v := kv(msg, "rhost="); len(v) > 0 {
			if a, err := netip.ParseAddr(string(v)); err == nil {
				ev.Source = a.Unmap()
			} else {
				ev.Domain = p.intern.String(v)
			}
		}
		if v := kv(msg, " user="); len(v) > 0 {
			ev.User = p.intern.String(v)
		}
		if ev.User == "" && !ev.Source.IsValid() && ev.Domain == "" {
			// A local failure with nothing to key on (e.g. a console
			// login with no user): keep it, attributed to the host.
			ev.Domain = base.Host
			if ev.Domain == "" {
				return dst, fmt.Errorf("malformed PAM line: no user, address or host")
			}
		}
		return append(dst, ev), nil

	case bytes.Equal(kind, []byte("session")) && bytes.HasPrefix(msg, []byte("session opened for user ")):
		if notSignIn[svc] {
			return dst, nil
		}
		r := msg[len("session opened for user "):]
		end := bytes.IndexAny(r, " (")
		if end < 0 {
			end = len(r)
		}
		if end == 0 {
			return dst, fmt.Errorf("malformed PAM line: no user in 'session opened'")
		}
		ev := base
		ev.Outcome = detect.OutcomeSuccess
		ev.User = p.intern.String(r[:end])
		return append(dst, ev), nil
	}
	return dst, nil
}

// kv returns the value after key up to the next space.
func kv(msg []byte, key string) []byte {
	i := bytes.Index(msg, []byte(key))
	if i < 0 {
		return nil
	}
	v := msg[i+len(key):]
	if sp := bytes.IndexByte(v, ' '); sp >= 0 {
		v = v[:sp]
	}
	return v
}

// Flush implements detect.Parser; PAM holds nothing back.
func (p *Parser) Flush(dst []detect.Event) []detect.Event { return dst }
