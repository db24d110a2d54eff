package mamori

import (
	"context"
	"time"
)

// Actor is who is acting: a signed-in user, an API token's owner, or the
// system itself (scheduled jobs, the CLI). It travels in the context.
type Actor struct {
	UserID      string
	Email       string
	DisplayName string
	Roles       []string
	Perms       map[Permission]bool
	SessionID   string // set for browser sessions
	TokenID     string // set for API tokens
	// ReadOnly is set for API tokens scoped to reading: every permission
	// that writes is then withheld, whatever the roles say.
	ReadOnly bool
	// AuthTime is when the user last proved who they are (sign-in or
	// step-up re-authentication); step-up checks compare against it.
	AuthTime   time.Time
	RemoteAddr string
	UserAgent  string
	RequestID  string
	System     bool // the system itself; holds every permission
}

// Can reports whether the actor holds p.
func (a *Actor) Can(p Permission) bool {
	if a == nil {
		return p == Public
	}
	if p == Public || (p == Authenticated && (a.UserID != "" || a.System)) {
		return true
	}
	if a.ReadOnly && p.Writes() {
		return false
	}
	return a.System || a.Perms[p]
}

// ID returns the user ID, or "system".
func (a *Actor) ID() string {
	if a == nil {
		return ""
	}
	if a.System {
		return "system"
	}
	return a.UserID
}

type actorKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx, or nil.
func ActorFrom(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey{}).(*Actor)
	return a
}

// SystemActor is the actor for work the system does on its own behalf
// (scheduled jobs, command-line administration run by the operator).
func SystemActor() *Actor { return &Actor{System: true} }

// Require returns the actor in ctx if it holds p. Services call it as
// defence in depth behind the route table's check.
func Require(ctx context.Context, p Permission) (*Actor, error) {
	a := ActorFrom(ctx)
	if a == nil {
		if p == Public {
			return nil, nil
		}
		return nil, Errorf(EUNAUTHENTICATED, "Please sign in.")
	}
	if !a.Can(p) {
		return nil, Errorf(EFORBIDDEN, "You do not have permission to do this.")
	}
	return a, nil
}
