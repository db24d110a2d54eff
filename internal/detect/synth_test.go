package detect_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/mamori-dev/mamori/internal/detect"
)

// The synthetic traffic: a population of users signing in with typos,
// forgotten passwords, shared office and carrier NATs, sign-ups and
// resets; and, on top, labelled attacks of every kind the engine detects.

// attack is one labelled attack in the synthetic traffic.
type attack struct {
	name     string
	want     detect.AlertType
	sources  map[netip.Addr]bool
	accounts map[string]bool
	start    time.Time
	end      time.Time
	// compromised accounts the alert must name.
	compromised []string
}

type synth struct {
	r        *rand.Rand
	start    time.Time
	days     int
	users    []string
	home     []netip.Addr
	mobile   []bool
	pw       []string
	offices  []netip.Addr
	carriers []netip.Addr
	uas      []string
	events   []detect.Event
	attacks  []*attack
	notices  int // expected privileged sign-in notices (benign admin)
}

var hmacKey = []byte("synthetic-key")

func pwHMAC(pw string) string {
	m := hmac.New(sha256.New, hmacKey)
	m.Write([]byte(pw))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

func newSynth(seed uint64, users, days int) *synth {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	s := &synth{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), days: days,
		start: time.Date(2026, 3, 2, 0, 0, 0, 0, tokyo)} // a Monday
	s.uas = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		"Mozilla/5.0 (Linux; Android 15) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36 Edg/130.0",
	}
	for i := range users {
		s.users = append(s.users, fmt.Sprintf("user%05d", i))
		s.home = append(s.home, s.publicIP())
		s.mobile = append(s.mobile, s.r.Float64() < 0.3)
		s.pw = append(s.pw, pwHMAC(fmt.Sprintf("pw-%d-%d", seed, i)))
	}
	for range 2 {
		s.offices = append(s.offices, s.publicIP())
	}
	for range 20 {
		s.carriers = append(s.carriers, s.publicIP())
	}
	return s
}

func (s *synth) publicIP() netip.Addr {
	for {
		a := netip.AddrFrom4([4]byte{byte(1 + s.r.IntN(222)), byte(s.r.IntN(256)), byte(s.r.IntN(256)), byte(1 + s.r.IntN(254))})
		if a.IsGlobalUnicast() && !a.IsPrivate() && a.As4()[0] != 127 {
			return a
		}
	}
}

func (s *synth) ua() string {
	if s.r.Float64() < 0.4 {
		return s.uas[0]
	}
	return s.uas[s.r.IntN(len(s.uas))]
}

func (s *synth) add(ev detect.Event) { s.events = append(s.events, ev) }

func (s *synth) login(t time.Time, user string, src netip.Addr, ua string, ok bool, reason detect.Reason, pw string) {
	ev := detect.Event{Time: t.UTC(), Action: detect.ActionLogin, User: user, Source: src, UserAgent: ua,
		Service: "netbank", PasswordHMAC: pw}
	if ok {
		ev.Outcome = detect.OutcomeSuccess
	} else {
		ev.Outcome, ev.Reason = detect.OutcomeFailure, reason
	}
	s.add(ev)
}

// daytime returns a time on day d, mostly between 07:00 and 23:00 Tokyo.
func (s *synth) daytime(d int) time.Time {
	h := 7 + s.r.Float64()*16
	if s.r.Float64() < 0.05 {
		h = s.r.Float64() * 24
	}
	return s.start.AddDate(0, 0, d).Add(time.Duration(h * float64(time.Hour)))
}

func (s *synth) typo() string { return pwHMAC(fmt.Sprintf("typo-%d", s.r.Uint64())) }

// benign generates the population's own traffic.
func (s *synth) benign() {
	for d := range s.days {
		weekday := s.start.AddDate(0, 0, d).Weekday()
		for i, u := range s.users {
			sessions := 1 + s.r.IntN(3)
			for range sessions {
				t := s.daytime(d)
				src := s.home[i]
				switch {
				case i < 400 && weekday >= time.Monday && weekday <= time.Friday && t.Hour() >= 9 && t.Hour() < 18:
					src = s.offices[i%len(s.offices)]
				case s.mobile[i] && s.r.Float64() < 0.5:
					src = s.carriers[s.r.IntN(len(s.carriers))]
				}
				ua := s.ua()
				// Username typo: an unknown account, then the right one.
				if s.r.Float64() < 0.01 {
					s.login(t, u[:len(u)-1]+"x", src, ua, false, detect.ReasonUnknownUser, s.typo())
					t = t.Add(time.Duration(5+s.r.IntN(20)) * time.Second)
				}
				fails := 0
				switch p := s.r.Float64(); {
				case p < 0.06:
					fails = 1
				case p < 0.075:
					fails = 2
				case p < 0.08:
					fails = 3
				}
				for range fails {
					s.login(t, u, src, ua, false, detect.ReasonBadPassword, s.typo())
					t = t.Add(time.Duration(5+s.r.IntN(25)) * time.Second)
				}
				switch p := s.r.Float64(); {
				case p < 0.003: // gives up
					if fails == 0 {
						s.login(t, u, src, ua, false, detect.ReasonBadPassword, s.typo())
					}
					continue
				case p < 0.005: // forgot: reset, then sign in
					s.add(detect.Event{Time: t.UTC(), Action: detect.ActionPasswordReset, Outcome: detect.OutcomeSuccess,
						User: u, Source: src, UserAgent: ua, Service: "netbank"})
					t = t.Add(3 * time.Minute)
				}
				s.login(t, u, src, ua, true, "", s.pw[i])
			}
		}
		// Sign-ups (a few refused because the name is taken) and an
		// administrator signing in during office hours on workdays.
		for range 30 {
			t := s.daytime(d)
			ev := detect.Event{Time: t.UTC(), Action: detect.ActionSignup, Outcome: detect.OutcomeSuccess,
				User: fmt.Sprintf("new%d-%d", d, s.r.IntN(1e6)), Source: s.publicIP(), UserAgent: s.ua(), Service: "netbank"}
			if s.r.Float64() < 0.05 {
				ev.Outcome, ev.Reason, ev.User = detect.OutcomeFailure, detect.ReasonUserExists, s.users[s.r.IntN(len(s.users))]
			}
			s.add(ev)
		}
		if weekday >= time.Monday && weekday <= time.Friday {
			t := s.start.AddDate(0, 0, d).Add(9*time.Hour + time.Duration(s.r.IntN(120))*time.Minute)
			s.login(t, "admin", s.offices[0], s.uas[0], true, "", pwHMAC("admin-pw"))
			s.notices++
		}
	}
}

func (s *synth) newAttack(name string, want detect.AlertType, start time.Time) *attack {
	a := &attack{name: name, want: want, sources: map[netip.Addr]bool{}, accounts: map[string]bool{}, start: start.UTC(), end: start.UTC()}
	s.attacks = append(s.attacks, a)
	return a
}

func (a *attack) saw(t time.Time, src netip.Addr, user string) {
	if src.IsValid() {
		a.sources[src] = true
	}
	if user != "" {
		a.accounts[user] = true
	}
	if t.UTC().After(a.end) {
		a.end = t.UTC()
	}
}

// attacks adds one attack of each kind, on day 1 and 2 at various hours.
func (s *synth) attacksAll(decoy string) {
	day1 := s.start.AddDate(0, 0, 1)
	day2 := s.start.AddDate(0, 0, 2)
	bot := "python-requests/2.32.3"

	// Brute force: one source, one account, 40 passwords in 5 minutes.
	{
		a := s.newAttack("brute force, one source", detect.TypeBruteForce, day1.Add(3*time.Hour))
		src := s.publicIP()
		for i := range 40 {
			t := a.start.Add(time.Duration(i) * 7 * time.Second)
			s.login(t, s.users[42], src, bot, false, detect.ReasonBadPassword, s.typo())
			a.saw(t, src, s.users[42])
		}
	}
	// Brute force: many sources, one account, then a success from one of them.
	{
		a := s.newAttack("brute force, many sources", detect.TypeBruteForce, day1.Add(14*time.Hour))
		u := s.users[100]
		for i := range 30 {
			t := a.start.Add(time.Duration(i) * 15 * time.Second)
			src := s.publicIP()
			s.login(t, u, src, s.ua(), false, detect.ReasonBadPassword, s.typo())
			a.saw(t, src, u)
			if i == 29 {
				t = t.Add(10 * time.Second)
				s.login(t, u, src, s.ua(), true, "", s.pw[100])
				a.saw(t, src, u)
				a.compromised = []string{u}
			}
		}
	}
	// Credential stuffing: one source, a leaked list (60% unknown), two hits.
	{
		a := s.newAttack("credential stuffing, one source", detect.TypeStuffing, day1.Add(20*time.Hour))
		src := s.publicIP()
		for i := range 200 {
			t := a.start.Add(time.Duration(i) * 6 * time.Second)
			if i%5 < 3 {
				u := fmt.Sprintf("leaked%04d@example.jp", i)
				s.login(t, u, src, bot, false, detect.ReasonUnknownUser, s.typo())
				a.saw(t, src, u)
				continue
			}
			ui := 500 + i
			ok := i == 77 || i == 154
			if ok {
				s.login(t, s.users[ui], src, bot, true, "", s.pw[ui])
				a.compromised = append(a.compromised, s.users[ui])
			} else {
				s.login(t, s.users[ui], src, bot, false, detect.ReasonBadPassword, s.typo())
			}
			a.saw(t, src, s.users[ui])
		}
	}
	// Credential stuffing from a /24: 40 addresses, 5 accounts each.
	{
		a := s.newAttack("credential stuffing, one subnet", detect.TypeStuffing, day2.Add(2*time.Hour))
		base := s.publicIP().As4()
		for i := range 40 {
			src := netip.AddrFrom4([4]byte{base[0], base[1], base[2], byte(10 + i)})
			for j := range 5 {
				t := a.start.Add(time.Duration(i*5+j) * 3 * time.Second)
				u := fmt.Sprintf("combo%d-%d@example.jp", i, j)
				s.login(t, u, src, s.ua(), false, detect.ReasonUnknownUser, s.typo())
				a.saw(t, src, u)
			}
		}
	}
	// Credential stuffing seen only through its user agent: 150 scattered
	// addresses, one to three accounts each.
	{
		a := s.newAttack("credential stuffing, one user agent", detect.TypeStuffing, day2.Add(5*time.Hour))
		ua := "Mozilla/5.0 (compatible; OpenBullet/1.4)"
		n := 0
		for range 150 {
			src := s.publicIP()
			for range 1 + s.r.IntN(3) {
				t := a.start.Add(time.Duration(n) * 2 * time.Second)
				u := fmt.Sprintf("ua-list%d@example.jp", n)
				s.login(t, u, src, ua, false, detect.ReasonUnknownUser, s.typo())
				a.saw(t, src, u)
				n++
			}
		}
	}
	// Password spraying from one source: one common password on 60 real
	// accounts, 5 an hour for 12 hours.
	{
		a := s.newAttack("password spraying, one source", detect.TypeSpraying, day1.Add(1*time.Hour))
		src := s.publicIP()
		pw := pwHMAC("Spring2026!")
		for i := range 60 {
			t := a.start.Add(time.Duration(i) * 12 * time.Minute)
			u := s.users[1000+i]
			s.login(t, u, src, s.ua(), false, detect.ReasonBadPassword, pw)
			a.saw(t, src, u)
		}
	}
	// Slow spray from rotating addresses with the same password: one
	// attempt per account, 300 accounts over 10 hours, a new address each.
	{
		a := s.newAttack("slow spray, rotating addresses, same password", detect.TypeSpraying, day1.Add(8*time.Hour))
		pw := pwHMAC("Password1")
		for i := range 300 {
			t := a.start.Add(time.Duration(i) * 2 * time.Minute)
			u := s.users[1200+i%600]
			src := s.publicIP()
			s.login(t, u, src, s.ua(), false, detect.ReasonBadPassword, pw)
			a.saw(t, src, u)
		}
	}
	// The same slow spray without password fingerprints: only abandoned
	// failures across the population show it.
	{
		a := s.newAttack("slow spray, rotating addresses, no fingerprint", detect.TypeSpraying, day2.Add(9*time.Hour))
		for i := range 300 {
			t := a.start.Add(time.Duration(i) * 2 * time.Minute)
			u := s.users[1800-i]
			src := s.publicIP()
			s.login(t, u, src, s.ua(), false, detect.ReasonBadPassword, "")
			a.saw(t, src, u)
		}
	}
	// Account enumeration through the sign-up form and the reset form.
	{
		a := s.newAttack("enumeration through sign-up", detect.TypeEnumeration, day1.Add(16*time.Hour))
		src := s.publicIP()
		for i := range 80 {
			t := a.start.Add(time.Duration(i) * 10 * time.Second)
			u := fmt.Sprintf("probe%d@example.jp", i)
			ev := detect.Event{Time: t.UTC(), Action: detect.ActionSignup, Outcome: detect.OutcomeSuccess, User: u, Source: src, UserAgent: bot, Service: "netbank"}
			if i%3 == 0 {
				ev.Outcome, ev.Reason, ev.User = detect.OutcomeFailure, detect.ReasonUserExists, s.users[i]
			}
			s.add(ev)
			a.saw(t, src, ev.User)
		}
		b := s.newAttack("enumeration through password reset", detect.TypeEnumeration, day2.Add(11*time.Hour))
		src = s.publicIP()
		for i := range 40 {
			t := b.start.Add(time.Duration(i) * 8 * time.Second)
			u := s.users[i*7]
			ev := detect.Event{Time: t.UTC(), Action: detect.ActionPasswordReset, Outcome: detect.OutcomeSuccess, User: u, Source: src, UserAgent: s.ua(), Service: "netbank"}
			if i%2 == 0 {
				ev.User = fmt.Sprintf("guess%d", i)
				ev.Outcome, ev.Reason = detect.OutcomeFailure, detect.ReasonUnknownUser
			}
			s.add(ev)
			b.saw(t, src, ev.User)
		}
	}
	// One attempt on a decoy account.
	{
		a := s.newAttack("decoy account", detect.TypeDecoy, day2.Add(13*time.Hour+7*time.Minute))
		src := s.publicIP()
		s.login(a.start, decoy, src, s.ua(), false, detect.ReasonBadPassword, s.typo())
		a.saw(a.start, src, decoy)
	}
	// The administrator account signing in at 03:00 on Saturday.
	{
		sat := s.start.AddDate(0, 0, 5).Add(3 * time.Hour)
		if s.days > 5 {
			a := s.newAttack("privileged sign-in off hours", detect.TypeOffHours, sat)
			src := s.publicIP()
			s.login(sat, "admin", src, s.ua(), true, "", pwHMAC("admin-pw"))
			a.saw(sat, src, "admin")
		}
	}
	// A fast probe: three default accounts within seconds, as scanners do.
	{
		a := s.newAttack("fast probe", detect.TypeStuffing, day2.Add(17*time.Hour))
		src := s.publicIP()
		for i, u := range []string{"support", "uucp", "admin"} {
			t := a.start.Add(time.Duration(i*3) * time.Second)
			s.login(t, u, src, "", false, detect.ReasonUnknownUser, "")
			a.saw(t, src, u)
		}
	}
}

func (s *synth) sorted() []detect.Event {
	slices.SortStableFunc(s.events, func(a, b detect.Event) int { return a.Time.Compare(b.Time) })
	return s.events
}
