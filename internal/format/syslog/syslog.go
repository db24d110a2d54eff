// Package syslog reads syslog framing: RFC 3164 (BSD, as in /var/log/auth.log,
// with or without <PRI>, with a classic or an RFC 3339 timestamp) and RFC 5424.
// It infers the year that RFC 3164 timestamps leave out.
package syslog

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Message is one framed syslog message. The byte slices point into the
// line given to Parse and are valid only until the caller reuses it.
type Message struct {
	Time     time.Time
	Priority int // -1 when the line has no <PRI>
	Version  int // 0 for RFC 3164, 1 for RFC 5424
	Host     []byte
	App      []byte // tag or APP-NAME, without the [pid]
	PID      []byte
	MsgID    []byte // RFC 5424 only
	Data     []byte // RFC 5424 structured data, or nil
	Msg      []byte
}

// Facility and Severity split Priority.
func (m *Message) Facility() int { return m.Priority >> 3 }
func (m *Message) Severity() int { return m.Priority & 7 }

// Parser reads lines of one stream. Location is the zone of timestamps
// that carry none (RFC 3164); Reference is "now" for year inference
// (default: the wall clock at the first line).
type Parser struct {
	Location  *time.Location
	Reference time.Time
	last      time.Time
	cacheKey  int64
	cacheTime time.Time
}

// ErrMalformed is wrapped by every parse error.
var ErrMalformed = errors.New("malformed syslog line")

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Parse reads one line (without its newline).
func (p *Parser) Parse(line []byte) (Message, error) {
	m := Message{Priority: -1}
	b := bytes.TrimRight(line, "\r\n")
	b = bytes.TrimLeft(b, " ")
	if len(b) == 0 {
		return m, bad("empty line")
	}
	if b[0] == '<' {
		end := bytes.IndexByte(b, '>')
		if end < 2 || end > 4 {
			return m, bad("bad <PRI>")
		}
		pri, err := strconv.Atoi(string(b[1:end]))
		if err != nil || pri < 0 || pri > 191 {
			return m, bad("bad <PRI>")
		}
		m.Priority = pri
		b = b[end+1:]
		if len(b) > 2 && b[0] == '1' && b[1] == ' ' {
			m.Version = 1
			return m, p.parse5424(&m, b[2:])
		}
	}
	return m, p.parse3164(&m, b)
}

func (p *Parser) loc() *time.Location {
	if p.Location == nil {
		return time.UTC
	}
	return p.Location
}

func (p *Parser) parse3164(m *Message, b []byte) error {
	var rest []byte
	if len(b) >= 15 && b[3] == ' ' && b[6] == ' ' && b[9] == ':' {
		t, err := p.stamp3164(b[:15])
		if err != nil {
			return err
		}
		m.Time = t
		rest = b[15:]
	} else if len(b) >= 14 && b[3] == ' ' && b[4] != ' ' && b[5] == ' ' && b[8] == ':' {
		// "Feb 7 16:01:07": a one-digit day without padding.
		var stamp [15]byte
		copy(stamp[:4], b[:4])
		stamp[4] = ' '
		copy(stamp[5:], b[4:14])
		t, err := p.stamp3164(stamp[:])
		if err != nil {
			return err
		}
		m.Time = t
		rest = b[14:]
	} else if len(b) >= 19 && b[4] == '-' && b[10] == 'T' {
		sp := bytes.IndexByte(b, ' ')
		if sp < 0 {
			sp = len(b)
		}
		t, err := time.Parse(time.RFC3339Nano, string(b[:sp]))
		if err != nil {
			t, err = time.ParseInLocation("2006-01-02T15:04:05.999999999", string(b[:sp]), p.loc())
			if err != nil {
				return bad("bad timestamp")
			}
		}
		if t.Year() < 1970 {
			return bad("timestamp before 1970")
		}
		m.Time = t.UTC()
		rest = b[sp:]
	} else {
		return bad("no timestamp")
	}
	rest = bytes.TrimLeft(rest, " ")
	sp := bytes.IndexByte(rest, ' ')
	if sp <= 0 {
		return bad("no host and message")
	}
	if first := rest[:sp]; first[len(first)-1] != ':' {
		m.Host = first
		rest = rest[sp+1:]
	} // else no host: the line goes straight to "tag[pid]: message"
	// TAG[PID]: MSG — the tag may itself hold parentheses, as in
	// "sshd(pam_unix)[19939]:".
	colon := bytes.Index(rest, []byte(": "))
	if colon < 0 && bytes.HasSuffix(rest, []byte(":")) {
		colon = len(rest) - 1
	}
	if colon <= 0 || bytes.IndexByte(rest[:colon], ' ') >= 0 {
		// No tag: the whole rest is the message (e.g. "last message repeated").
		m.Msg = rest
		return nil
	}
	tag := rest[:colon]
	if lb := bytes.LastIndexByte(tag, '['); lb > 0 && tag[len(tag)-1] == ']' {
		m.PID = tag[lb+1 : len(tag)-1]
		tag = tag[:lb]
	}
	m.App = tag
	if colon+2 <= len(rest) {
		m.Msg = rest[colon+2:]
	}
	// Solaris adds a message ID: "[ID 800047 auth.info] Failed …".
	if bytes.HasPrefix(m.Msg, []byte("[ID ")) {
		if end := bytes.IndexByte(m.Msg, ']'); end > 0 && end+2 <= len(m.Msg) {
			m.Msg = m.Msg[end+2:]
		}
	}
	return nil
}

var months = map[string]time.Month{
	"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
	"Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}

func num2(b []byte) (int, bool) {
	if len(b) != 2 {
		return 0, false
	}
	hi, lo := b[0], b[1]
	if hi == ' ' {
		hi = '0'
	}
	if hi < '0' || hi > '9' || lo < '0' || lo > '9' {
		return 0, false
	}
	return int(hi-'0')*10 + int(lo-'0'), true
}

// stamp3164 reads "Mmm dd hh:mm:ss" and picks the year: the reference
// year, moved back if that puts the time more than a week after the
// reference; later lines follow the previous one across New Year.
func (p *Parser) stamp3164(b []byte) (time.Time, error) {
	mon, ok := months[string(b[0:3])]
	day, ok1 := num2(b[4:6])
	hh, ok2 := num2(b[7:9])
	mm, ok3 := num2(b[10:12])
	ss, ok4 := num2(b[13:15])
	if !ok || !ok1 || !ok2 || !ok3 || !ok4 || b[12] != ':' || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, bad("bad timestamp %q", b)
	}
	var year int
	if p.last.IsZero() {
		if p.Reference.IsZero() {
			p.Reference = time.Now()
		}
		ref := p.Reference.In(p.loc())
		year = ref.Year()
		if time.Date(year, mon, day, hh, mm, ss, 0, p.loc()).After(ref.Add(7 * 24 * time.Hour)) {
			year--
		}
	} else {
		year = p.last.Year()
		lm := p.last.Month()
		if lm >= 11 && mon <= 2 {
			year++ // December to January
		} else if lm <= 2 && mon >= 11 {
			year-- // a late line from the old year
		}
	}
	// Cache the hour: consecutive lines share it, and time.Date with a
	// zone is the costliest step. Zone changes fall on hour boundaries.
	key := int64(year)<<24 | int64(mon)<<16 | int64(day)<<8 | int64(hh)
	if key != p.cacheKey || p.cacheTime.IsZero() {
		p.cacheKey = key
		p.cacheTime = time.Date(year, mon, day, hh, 0, 0, 0, p.loc())
		if p.cacheTime.Day() != day {
			return time.Time{}, bad("no such date %q", b[:6])
		}
	}
	t := p.cacheTime.Add(time.Duration(mm)*time.Minute + time.Duration(ss)*time.Second).UTC()
	p.last = t.In(p.loc())
	return t, nil
}

func (p *Parser) parse5424(m *Message, b []byte) error {
	field := func() ([]byte, error) {
		sp := bytes.IndexByte(b, ' ')
		if sp < 0 {
			return nil, bad("RFC 5424 header is cut short")
		}
		f := b[:sp]
		b = b[sp+1:]
		if len(f) == 1 && f[0] == '-' {
			return nil, nil
		}
		return f, nil
	}
	ts, err := field()
	if err != nil {
		return err
	}
	if ts != nil {
		t, err := time.Parse(time.RFC3339Nano, string(ts))
		if err != nil || t.Year() < 1970 {
			return bad("bad RFC 5424 timestamp")
		}
		m.Time = t.UTC()
	}
	if m.Host, err = field(); err != nil {
		return err
	}
	if m.App, err = field(); err != nil {
		return err
	}
	if m.PID, err = field(); err != nil {
		return err
	}
	if m.MsgID, err = field(); err != nil {
		// MSGID may be the last field when there is no SD and no MSG.
		return err
	}
	// STRUCTURED-DATA: "-" or one or more [id k="v" …] with \" \] \\ escapes.
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	} else if len(b) > 0 && b[0] == '[' {
		i := 0
		for i < len(b) && b[i] == '[' {
			inQuote := false
			j := i + 1
			for ; j < len(b); j++ {
				c := b[j]
				if inQuote {
					if c == '\\' {
						j++
					} else if c == '"' {
						inQuote = false
					}
					continue
				}
				if c == '"' {
					inQuote = true
				} else if c == ']' {
					break
				}
			}
			if j >= len(b) {
				return bad("unterminated structured data")
			}
			i = j + 1
		}
		m.Data = b[:i]
		b = b[i:]
	} else if len(b) > 0 {
		return bad("bad structured data")
	}
	if len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	m.Msg = b
	return nil
}

// Interner returns one shared string per distinct byte sequence, so that
// parsers do not allocate a new string for the same user or host on every
// line. It is bounded: past Max entries it starts over.
type Interner struct {
	m   map[string]string
	Max int
}

func (in *Interner) String(b []byte) string {
	if in.m == nil {
		in.m = make(map[string]string)
		if in.Max == 0 {
			in.Max = 100_000
		}
	}
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	if len(in.m) >= in.Max {
		clear(in.m)
	}
	s := string(b)
	in.m[s] = s
	return s
}
