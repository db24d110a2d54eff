// Package sshd reads OpenSSH server logs (syslog-framed, as in
// /var/log/auth.log or journalctl -o short) into sign-in events.
//
// One attempt is one event. sshd often logs an attempt several times
// ("Invalid user", the PAM failure, "Failed password"); lines that only
// announce a connection are held per process until the connection shows
// whether a real attempt followed, so attempts are not double counted.
// "message repeated N times" expands to N events.
package sshd

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/mamori-dev/mamori/internal/detect"
	"github.com/mamori-dev/mamori/internal/format/syslog"
)

// Parser reads sshd lines. Lines of other programs are ignored; see
// internal/format/pam for PAM-only logs.
type Parser struct {
	Syslog  syslog.Parser
	intern  syslog.Interner
	pending map[conn]*held
	order   []conn
}

type conn struct {
	host string
	pid  string
}

// held is what a connection has announced but not yet attempted.
type held struct {
	ev        detect.Event
	announced bool // an event is held
	attempted bool // a Failed/Accepted line came: nothing to add
	unknown   bool // PAM said the user is unknown
}

const maxPending = 10_000

// New returns a parser reading timestamps without a zone in loc, inferring
// years relative to ref (the zero time means now).
func New(loc *time.Location, ref time.Time) *Parser {
	return &Parser{Syslog: syslog.Parser{Location: loc, Reference: ref}, pending: map[conn]*held{}}
}

// Parse implements detect.Parser.
func (p *Parser) Parse(dst []detect.Event, line []byte) ([]detect.Event, error) {
	if len(bytes.TrimSpace(line)) == 0 {
		return dst, nil
	}
	m, err := p.Syslog.Parse(line)
	if err != nil {
		return dst, err
	}
	if !bytes.HasPrefix(m.App, []byte("sshd")) {
		return dst, nil
	}
	return p.Message(dst, &m)
}

// Message reads one already framed sshd message.
func (p *Parser) Message(dst []detect.Event, m *syslog.Message) ([]detect.Event, error) {
	if p.pending == nil {
		p.pending = map[conn]*held{}
	}
	msg := m.Msg
	base := detect.Event{Time: m.Time, Action: detect.ActionLogin, Service: "sshd", Host: p.intern.String(m.Host)}
	c := conn{base.Host, p.intern.String(m.PID)}

	if r, ok := bytes.CutPrefix(msg, []byte("message repeated ")); ok {
		sp := bytes.IndexByte(r, ' ')
		n, err := strconv.Atoi(string(r[:max(sp, 0)]))
		inner, ok := bytes.CutPrefix(r[max(sp, 0):], []byte(" times: [ "))
		if sp < 0 || err != nil || !ok || n < 1 {
			return dst, fmt.Errorf("malformed sshd line: bad 'message repeated'")
		}
		inner = bytes.TrimSuffix(bytes.TrimRight(inner, " "), []byte("]"))
		if n > 1000 {
			n = 1000 // a bound: the count is attacker-influenced only indirectly, but keep memory sane
		}
		for range n {
			var err error
			if dst, err = p.attempt(dst, base, c, inner); err != nil {
				return dst, err
			}
		}
		return dst, nil
	}

	switch {
	case bytes.HasPrefix(msg, []byte("Failed ")), bytes.HasPrefix(msg, []byte("Accepted ")):
		return p.attempt(dst, base, c, msg)

	case bytes.HasPrefix(msg, []byte("Invalid user ")):
		// "Invalid user NAME from IP[ port N]"
		r := msg[len("Invalid user "):]
		user, addr, ok := userFrom(r)
		if !ok {
			return dst, fmt.Errorf("malformed sshd line: bad 'Invalid user'")
		}
		ev := base
		ev.Outcome, ev.Reason = detect.OutcomeFailure, detect.ReasonUnknownUser
		ev.User = p.intern.String(user)
		ev.Source = addr
		return p.hold(dst, c, ev, true), nil

	case bytes.HasPrefix(msg, []byte("User ")) && bytes.Contains(msg, []byte(" not allowed because ")):
		// "User root from HOST not allowed because not listed in AllowUsers",
		// "User root not allowed because account is locked" (no address:
		// the connection's end line gives it).
		end := bytes.Index(msg, []byte(" not allowed because "))
		if end < len("User ") {
			return dst, fmt.Errorf("malformed sshd line: no user in 'not allowed'")
		}
		r := msg[len("User "):end]
		ev := base
		ev.Outcome, ev.Reason = detect.OutcomeFailure, "denied"
		if i := bytes.LastIndex(r, []byte(" from ")); i >= 0 {
			ev.User = p.intern.String(r[:i])
			p.setSource(&ev, r[i+len(" from "):])
		} else {
			ev.User = p.intern.String(r)
		}
		return p.hold(dst, c, ev, false), nil

	case bytes.HasPrefix(msg, []byte("ROOT LOGIN REFUSED FROM ")):
		ev := base
		ev.Outcome, ev.Reason, ev.User = detect.OutcomeFailure, "denied", "root"
		r := msg[len("ROOT LOGIN REFUSED FROM "):]
		if sp := bytes.IndexByte(r, ' '); sp >= 0 {
			r = r[:sp]
		}
		p.setSource(&ev, r)
		return p.hold(dst, c, ev, false), nil

	case bytes.HasPrefix(msg, []byte("error: PAM: ")):
		// BSD and macOS: "error: PAM: Authentication failure for [illegal
		// user ]NAME from HOST[ via ADDR]", "… authentication error for …",
		// "User not known to the underlying authentication module for
		// illegal user NAME from ADDR".
		r := msg[len("error: PAM: "):]
		i := bytes.Index(r, []byte(" for "))
		j := bytes.LastIndex(r, []byte(" from "))
		if i < 0 || j < i+len(" for ") {
			return dst, nil
		}
		ev := base
		ev.Outcome, ev.Reason = detect.OutcomeFailure, detect.ReasonBadPassword
		user := r[i+len(" for ") : j]
		if u, cut := bytes.CutPrefix(user, []byte("illegal user ")); cut {
			user, ev.Reason = u, detect.ReasonUnknownUser
		}
		if bytes.Contains(r[:i], []byte("not known")) {
			ev.Reason = detect.ReasonUnknownUser
		}
		ev.User = p.intern.String(user)
		host := bytes.TrimSpace(r[j+len(" from "):])
		if v := bytes.Index(host, []byte(" via ")); v >= 0 {
			host = host[:v]
		}
		p.setSource(&ev, host)
		return p.hold(dst, c, ev, ev.Reason == detect.ReasonUnknownUser), nil

	case bytes.HasPrefix(msg, []byte("pam_unix(sshd:auth): check pass; user unknown")):
		p.get(c).unknown = true
		return dst, nil

	case bytes.HasPrefix(msg, []byte("pam_")) && bytes.Contains(msg, []byte(":auth): authentication failure;")):
		ev := base
		ev.Outcome, ev.Reason = detect.OutcomeFailure, detect.ReasonBadPassword
		if h := p.get(c); h.unknown {
			ev.Reason = detect.ReasonUnknownUser
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
		return p.hold(dst, c, ev, false), nil

	case bytes.HasPrefix(msg, []byte("Connection closed by authenticating user ")),
		bytes.HasPrefix(msg, []byte("Connection reset by authenticating user ")),
		bytes.HasPrefix(msg, []byte("Disconnected from authenticating user ")),
		bytes.HasPrefix(msg, []byte("Connection closed by invalid user ")),
		bytes.HasPrefix(msg, []byte("Disconnected from invalid user ")):
		// "... user NAME ADDR port N [preauth]": the client gave up mid-way.
		r := msg[bytes.Index(msg, []byte(" user "))+len(" user "):]
		user, addr, ok := closedBy(r)
		if !ok {
			return dst, fmt.Errorf("malformed sshd line: bad address in 'Connection closed'")
		}
		ev := base
		ev.Outcome, ev.Reason = detect.OutcomeFailure, "aborted"
		if bytes.Contains(msg[:min(len(msg), 40)], []byte("invalid user")) {
			ev.Reason = detect.ReasonUnknownUser
		}
		ev.User = p.intern.String(bytes.TrimSpace(user))
		ev.Source = addr
		dst = p.hold(dst, c, ev, false)
		return p.end(dst, c), nil

	case bytes.HasPrefix(msg, []byte("Received disconnect from ")),
		bytes.HasPrefix(msg, []byte("Disconnected from ")),
		bytes.HasPrefix(msg, []byte("Connection closed by ")),
		bytes.HasPrefix(msg, []byte("Connection reset by ")),
		bytes.HasPrefix(msg, []byte("fatal: ")),
		bytes.HasPrefix(msg, []byte("error: Received disconnect from ")):
		// The end line names the address; an announcement without one
		// ("User root not allowed because account is locked") takes it.
		if h := p.pending[c]; h != nil && h.announced && !h.ev.Source.IsValid() && h.ev.Domain == "" {
			for _, pre := range []string{"Received disconnect from ", "error: Received disconnect from ", "Disconnected from ", "Connection closed by ", "Connection reset by "} {
				if a, ok := addrAfter(msg, pre); ok {
					h.ev.Source = a
					break
				}
			}
		}
		return p.end(dst, c), nil
	}
	return dst, nil
}

// attempt reads "Failed METHOD for [invalid user ]NAME from IP port N ssh2"
// or "Accepted METHOD for NAME from IP port N ssh2".
func (p *Parser) attempt(dst []detect.Event, base detect.Event, c conn, msg []byte) ([]detect.Event, error) {
	ok := bytes.HasPrefix(msg, []byte("Accepted "))
	r := msg[bytes.IndexByte(msg, ' ')+1:]
	sp := bytes.IndexByte(r, ' ')
	if sp < 0 {
		return dst, fmt.Errorf("malformed sshd line: no method")
	}
	method := r[:sp]
	r, found := bytes.CutPrefix(r[sp:], []byte(" for "))
	if !found {
		return dst, fmt.Errorf("malformed sshd line: no 'for'")
	}
	invalid := false
	if x, cut := bytes.CutPrefix(r, []byte("invalid user ")); cut {
		invalid, r = true, x
	}
	user, addr, good := attemptAddr(r)
	if !good {
		return dst, fmt.Errorf("malformed sshd line: no user and address")
	}
	if bytes.Equal(method, []byte("none")) {
		// The client asking which methods exist: part of the connection,
		// not a password attempt.
		ev := base
		ev.Outcome, ev.Reason = detect.OutcomeFailure, detect.ReasonBadPassword
		if invalid {
			ev.Reason = detect.ReasonUnknownUser
		}
		ev.User, ev.Source = p.intern.String(user), addr
		return p.hold(dst, c, ev, false), nil
	}
	h := p.get(c)
	h.attempted = true
	h.announced = false
	ev := base
	ev.User, ev.Source = p.intern.String(user), addr
	switch {
	case ok:
		ev.Outcome = detect.OutcomeSuccess
	case invalid:
		ev.Outcome, ev.Reason = detect.OutcomeFailure, detect.ReasonUnknownUser
	case bytes.Equal(method, []byte("publickey")):
		ev.Outcome, ev.Reason = detect.OutcomeFailure, "bad_key"
	default:
		ev.Outcome, ev.Reason = detect.OutcomeFailure, detect.ReasonBadPassword
	}
	return append(dst, ev), nil
}

// attemptAddr reads "NAME from ADDR port N sshV[: details]". A user name is
// attacker-chosen and may itself hold " from 1.2.3.4 port 1 ssh2", so the
// address is the occurrence that ends the message or is followed by ':'
// (what sshd appends after it is key details, not user input); failing
// that, the last address found.
func attemptAddr(r []byte) (user []byte, addr netip.Addr, ok bool) {
	for i := 0; i < len(r); {
		j := bytes.Index(r[i:], []byte(" from "))
		if j < 0 {
			break
		}
		j += i
		i = j + len(" from ")
		rest := r[i:]
		tok := rest
		if sp := bytes.IndexByte(rest, ' '); sp >= 0 {
			tok = rest[:sp]
		}
		a, err := netip.ParseAddr(string(tok))
		if err != nil {
			continue
		}
		user, addr, ok = r[:j], a.Unmap(), true // the last one, if none ends the line
		after := rest[len(tok):]
		if p, cut := bytes.CutPrefix(after, []byte(" port ")); cut {
			k := 0
			for k < len(p) && p[k] >= '0' && p[k] <= '9' {
				k++
			}
			after = p[k:]
			if v, cut := bytes.CutPrefix(after, []byte(" ssh")); cut {
				k = 0
				for k < len(v) && v[k] != ' ' && v[k] != ':' {
					k++
				}
				after = v[k:]
			}
		}
		if len(bytes.TrimSpace(after)) == 0 || after[0] == ':' {
			return r[:j], a.Unmap(), true
		}
	}
	return user, addr, ok
}

// closedBy reads "NAME ADDR port N[ [preauth]]" (the address is the token
// before the last " port ", so a name with spaces or addresses in it cannot
// move it).
func closedBy(r []byte) (user []byte, addr netip.Addr, ok bool) {
	r = bytes.TrimSuffix(bytes.TrimSpace(r), []byte(" [preauth]"))
	p := bytes.LastIndex(r, []byte(" port "))
	if p < 0 {
		p = len(r)
	}
	head := r[:p]
	sp := bytes.LastIndexByte(head, ' ')
	a, err := netip.ParseAddr(string(head[sp+1:]))
	if err != nil {
		return nil, netip.Addr{}, false
	}
	if sp > 0 {
		user = head[:sp]
	}
	return user, a.Unmap(), true
}

// addrAfter reads the address right after prefix in msg ("Received
// disconnect from ADDR port N: …", "Connection closed by ADDR …").
func addrAfter(msg []byte, prefix string) (netip.Addr, bool) {
	r, ok := bytes.CutPrefix(msg, []byte(prefix))
	if !ok {
		return netip.Addr{}, false
	}
	end := bytes.IndexAny(r, " :")
	if end < 0 {
		end = len(r)
	}
	// An IPv6 address holds colons: try the longest token first.
	if sp := bytes.IndexByte(r, ' '); sp > 0 {
		if a, err := netip.ParseAddr(string(bytes.TrimSuffix(r[:sp], []byte(":")))); err == nil {
			return a.Unmap(), true
		}
	}
	a, err := netip.ParseAddr(string(r[:end]))
	return a.Unmap(), err == nil
}

// userFrom reads "NAME from IP[ port N…]". NAME may be empty or contain
// spaces, so the address is found from the last " from ".
func userFrom(r []byte) (user []byte, addr netip.Addr, ok bool) {
	i := bytes.LastIndex(r, []byte(" from "))
	if i < 0 {
		if bytes.HasPrefix(r, []byte("from ")) {
			i = -1
		} else {
			return nil, netip.Addr{}, false
		}
	}
	if i >= 0 {
		user = r[:i]
	}
	rest := r[i+len(" from "):]
	if sp := bytes.IndexByte(rest, ' '); sp >= 0 {
		rest = rest[:sp]
	}
	a, err := netip.ParseAddr(string(rest))
	if err != nil {
		return nil, netip.Addr{}, false
	}
	return user, a.Unmap(), true
}

// setSource puts text in ev.Source when it is an address, else in
// ev.Domain (sshd logs host names when UseDNS is on).
func (p *Parser) setSource(ev *detect.Event, text []byte) {
	text = bytes.TrimSpace(text)
	if sp := bytes.IndexByte(text, ' '); sp >= 0 {
		text = text[:sp]
	}
	if len(text) == 0 {
		return
	}
	if a, err := netip.ParseAddr(string(text)); err == nil {
		ev.Source = a.Unmap()
	} else {
		ev.Domain = p.intern.String(text)
	}
}

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

func (p *Parser) get(c conn) *held {
	h := p.pending[c]
	if h == nil {
		if len(p.pending) >= maxPending {
			// Bound memory: forget the oldest half of the connections.
			for _, o := range p.order[:len(p.order)/2] {
				delete(p.pending, o)
			}
			p.order = append(p.order[:0], p.order[len(p.order)/2:]...)
		}
		if len(p.order) > 2*maxPending {
			// Drop ended connections from the order list.
			k := 0
			for _, o := range p.order {
				if _, ok := p.pending[o]; ok {
					p.order[k] = o
					k++
				}
			}
			p.order = p.order[:k]
		}
		h = &held{}
		p.pending[c] = h
		p.order = append(p.order, c)
	}
	return h
}

// hold keeps ev as the connection's announced attempt unless a real attempt
// was already logged. A more specific announcement (with a user) replaces a
// vaguer one.
func (p *Parser) hold(dst []detect.Event, c conn, ev detect.Event, unknownUser bool) []detect.Event {
	h := p.get(c)
	if unknownUser {
		h.unknown = true
	}
	if h.attempted {
		return dst
	}
	if !h.announced || (h.ev.User == "" && ev.User != "") || (!h.ev.Source.IsValid() && ev.Source.IsValid()) {
		if h.announced && h.ev.User != "" && ev.User == "" {
			ev.User = h.ev.User
		}
		if h.unknown && ev.Reason == detect.ReasonBadPassword {
			ev.Reason = detect.ReasonUnknownUser
		}
		h.ev, h.announced = ev, true
	}
	return dst
}

// end closes a connection, emitting its announced attempt if no real one
// was logged.
func (p *Parser) end(dst []detect.Event, c conn) []detect.Event {
	h, ok := p.pending[c]
	if !ok {
		return dst
	}
	delete(p.pending, c)
	if h.announced && !h.attempted {
		dst = append(dst, h.ev)
	}
	return dst
}

// Flush implements detect.Parser: connections still open at the end of
// the input count their announced attempt.
func (p *Parser) Flush(dst []detect.Event) []detect.Event {
	for _, c := range p.order {
		if h, ok := p.pending[c]; ok && h.announced && !h.attempted {
			dst = append(dst, h.ev)
		}
	}
	clear(p.pending)
	p.order = p.order[:0]
	return dst
}
