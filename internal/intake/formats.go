// Package intake brings sign-in events into the detection engine: the
// parsers by name (with a mixed "auto" parser for syslog streams holding
// several programs), reading a file while counting malformed lines, a
// syslog listener (UDP and TCP) and a file tailer that follows rotation.
package intake

import (
	"bytes"
	"slices"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/detect"
	"github.com/mamori-dev/mamori/internal/format/cloudtrail"
	"github.com/mamori-dev/mamori/internal/format/keycloak"
	"github.com/mamori-dev/mamori/internal/format/ndjson"
	"github.com/mamori-dev/mamori/internal/format/pam"
	"github.com/mamori-dev/mamori/internal/format/sshd"
	"github.com/mamori-dev/mamori/internal/format/syslog"
)

// Formats lists the parser names NewParser takes.
func Formats() []string {
	return []string{"auto", "ndjson", "sshd", "pam", "keycloak", "cloudtrail"}
}

// NewParser returns the parser called name. loc is the zone of timestamps
// that carry none; ref is "now" for the year of syslog timestamps (the
// zero time means the wall clock).
func NewParser(name string, loc *time.Location, ref time.Time) (detect.Parser, error) {
	if loc == nil {
		loc = time.UTC
	}
	switch name {
	case "auto", "syslog", "":
		return NewAuto(loc, ref), nil
	case "ndjson", "json":
		return ndjson.New(), nil
	case "sshd":
		return sshd.New(loc, ref), nil
	case "pam":
		return pam.New(loc, ref), nil
	case "keycloak":
		return keycloak.New(loc), nil
	case "cloudtrail":
		return cloudtrail.New(), nil
	}
	return nil, mamori.Invalid("format", "must be one of "+joinNames(Formats()))
}

func joinNames(s []string) string {
	var b bytes.Buffer
	for i, n := range s {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(n)
	}
	return b.String()
}

// Auto reads a mix: syslog lines are sent to the sshd, PAM or Keycloak
// parser by program; JSON lines to the canonical, Keycloak or CloudTrail
// parser by their keys (decided on the first JSON line of the stream).
type Auto struct {
	sys  syslog.Parser
	sshd *sshd.Parser
	pam  *pam.Parser
	kc   *keycloak.Parser
	ct   *cloudtrail.Parser
	nd   *ndjson.Parser
	json detect.Parser
}

// NewAuto returns a mixed parser.
func NewAuto(loc *time.Location, ref time.Time) *Auto {
	return &Auto{sys: syslog.Parser{Location: loc, Reference: ref}, sshd: sshd.New(loc, ref), pam: pam.New(loc, ref),
		kc: keycloak.New(loc), ct: cloudtrail.New(), nd: ndjson.New()}
}

// Parse implements detect.Parser.
func (a *Auto) Parse(dst []detect.Event, line []byte) ([]detect.Event, error) {
	t := bytes.TrimSpace(line)
	if len(t) == 0 {
		return dst, nil
	}
	if t[0] == '{' || t[0] == '[' {
		if a.json == nil {
			a.json = a.sniffJSON(t)
		}
		return a.json.Parse(dst, t)
	}
	m, err := a.sys.Parse(t)
	if err != nil {
		return dst, err
	}
	switch {
	case bytes.HasSuffix(m.App, []byte("(pam_unix)")):
		return a.pam.Message(dst, &m)
	case bytes.HasPrefix(m.App, []byte("sshd")):
		return a.sshd.Message(dst, &m)
	case bytes.HasPrefix(m.Msg, []byte("pam_")):
		return a.pam.Message(dst, &m)
	case bytes.Contains(m.Msg, []byte("type=")) && bytes.Contains(m.Msg, []byte("realmId=")):
		return a.kc.ParseAt(dst, m.Msg, m.Time)
	case len(m.Msg) > 0 && m.Msg[0] == '{':
		if a.json == nil {
			a.json = a.sniffJSON(m.Msg)
		}
		return a.json.Parse(dst, m.Msg)
	}
	return dst, nil
}

func (a *Auto) sniffJSON(t []byte) detect.Parser {
	head := t[:min(len(t), 4096)]
	switch {
	case bytes.Contains(head, []byte(`"Records"`)), bytes.Contains(head, []byte(`"eventSource"`)):
		return a.ct
	case bytes.Contains(head, []byte(`"realmId"`)), bytes.Contains(head, []byte(`org.keycloak.events`)):
		return a.kc
	}
	return a.nd
}

// Flush implements detect.Parser.
func (a *Auto) Flush(dst []detect.Event) []detect.Event {
	return a.sshd.Flush(dst)
}

// Sniff names the format of a sample of a file's first lines, or "auto".
func Sniff(sample []byte) string {
	lines := bytes.Split(sample, []byte("\n"))
	for _, l := range lines {
		l = bytes.TrimSpace(l)
		if len(l) == 0 {
			continue
		}
		if l[0] == '{' || l[0] == '[' {
			head := l[:min(len(l), 4096)]
			switch {
			case bytes.Contains(head, []byte(`"Records"`)), bytes.Contains(head, []byte(`"eventSource"`)):
				return "cloudtrail"
			case bytes.Contains(head, []byte(`"realmId"`)):
				return "keycloak"
			}
			return "ndjson"
		}
		break
	}
	if slices.ContainsFunc(lines, func(l []byte) bool { return bytes.Contains(l, []byte(" sshd[")) }) {
		return "sshd"
	}
	return "auto"
}
