package auth

import (
	"context"
	"net/netip"
	"time"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
)

// Throttle counts recent failures for one key ("login:<e-mail>" or
// "addr:<address or /64>") and holds a temporary lock.
type Throttle struct {
	Key         string
	Failures    int
	WindowStart time.Time
	LockedUntil time.Time
	Lockouts    int // consecutive lockouts: each doubles the next lock (backoff)
	UpdatedAt   time.Time
}

// Locked reports whether the key is locked at t.
func (t *Throttle) Locked(at time.Time) bool {
	return !t.LockedUntil.IsZero() && at.Before(t.LockedUntil)
}

// throttlePolicy says when a key locks and for how long.
type throttlePolicy struct {
	window    time.Duration // failures older than this are forgotten
	threshold int           // failures within the window that lock
	lock      time.Duration // first lock; doubles with each further lockout
	maxLock   time.Duration
	forgive   time.Duration // quiet time after which the lockout count resets
}

// Per account: 5 failures in 15 minutes lock it for 1 minute, then 2, 4 …
// up to an hour. Per source address: 20 failures in 15 minutes, across any
// accounts, lock the address for 15 minutes, doubling up to a day.
var (
	accountPolicy = throttlePolicy{window: 15 * time.Minute, threshold: 5, lock: time.Minute, maxLock: time.Hour, forgive: 24 * time.Hour}
	addrPolicy    = throttlePolicy{window: 15 * time.Minute, threshold: 20, lock: 15 * time.Minute, maxLock: 24 * time.Hour, forgive: 24 * time.Hour}
)

func loginKey(login string) string { return "login:" + NormalizeEmail(login) }

// addrKey groups IPv6 addresses by /64, the unit one attacker controls.
func addrKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return "addr:" + addr
	}
	if a.Is4() || a.Is4In6() {
		return "addr:" + a.Unmap().String()
	}
	p, _ := a.Prefix(64)
	return "addr:" + p.String()
}

// checkThrottles returns ERATELIMITED if the login or the address is locked.
func (s *Service) checkThrottles(ctx context.Context, keys ...string) (string, error) {
	now := s.Now()
	for _, k := range keys {
		t, err := s.store.Throttle(ctx, k)
		if mamori.ErrorCode(err) == mamori.ENOTFOUND {
			continue
		}
		if err != nil {
			return "", err
		}
		if t.Locked(now) {
			return k, errThrottled
		}
	}
	return "", nil
}

var errThrottled = mamori.Errorf(mamori.ERATELIMITED, "Too many attempts. Please wait and try again.")

// failThrottle counts one failure against key and locks it when the policy
// says so; the lock is audited.
func (s *Service) failThrottle(ctx context.Context, key string, p throttlePolicy) {
	now := s.Now()
	t, err := s.store.Throttle(ctx, key)
	if err != nil {
		t = &Throttle{Key: key, WindowStart: now}
	}
	if now.Sub(t.WindowStart) > p.window {
		t.Failures, t.WindowStart = 0, now
	}
	if !t.LockedUntil.IsZero() && now.Sub(t.LockedUntil) > p.forgive {
		t.Lockouts = 0
	}
	t.Failures++
	t.UpdatedAt = now
	var evs []audit.Event
	if t.Failures >= p.threshold && !t.Locked(now) {
		d := p.lock << min(t.Lockouts, 20)
		if d > p.maxLock || d <= 0 {
			d = p.maxLock
		}
		t.LockedUntil = now.Add(d)
		t.Lockouts++
		t.Failures = 0
		t.WindowStart = now
		typ := audit.AccountLocked
		if p == addrPolicy {
			typ = audit.SourceThrottled
		}
		// The key names a login or an address: security context an auditor
		// needs, kept in the trail's target rather than in free text.
		evs = append(evs, audit.New(context.WithoutCancel(ctx), typ, "throttle", key).
			With("locked_seconds", int(d.Seconds())).With("lockouts", t.Lockouts).WithOutcome(audit.Failure))
	}
	if err := s.store.SaveThrottle(context.WithoutCancel(ctx), t, evs...); err != nil {
		s.log.ErrorContext(ctx, "save throttle", "error", err)
	}
}

// clearLoginThrottle forgets failures of a login after a success.
func (s *Service) clearLoginThrottle(ctx context.Context, login string) {
	t, err := s.store.Throttle(ctx, loginKey(login))
	if err != nil || (t.Failures == 0 && !t.Locked(s.Now())) {
		return
	}
	t.Failures = 0
	t.UpdatedAt = s.Now()
	_ = s.store.SaveThrottle(context.WithoutCancel(ctx), t)
}

// LockedKeys lists logins and addresses locked now (administrators unlock them).
func (s *Service) LockedKeys(ctx context.Context) ([]*Throttle, error) {
	if _, err := mamori.Require(ctx, mamori.PermUserManage); err != nil {
		return nil, err
	}
	return s.store.LockedThrottles(ctx, s.Now())
}

// Unlock lifts a lock on a login or address.
func (s *Service) Unlock(ctx context.Context, key string) error {
	if _, err := mamori.Require(ctx, mamori.PermUserManage); err != nil {
		return err
	}
	return s.store.DeleteThrottle(ctx, key, audit.New(ctx, audit.AccountUnlocked, "throttle", key))
}
