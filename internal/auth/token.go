package auth

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
)

// Token is an API token: a bearer secret for the REST API, per user, scoped
// to reading or to reading and writing, with an expiry.
type Token struct {
	ID           string
	UserID       string
	Name         string
	Hash         string
	Scope        string // "read" or "write"
	ExpiresAt    time.Time
	CreatedAt    time.Time
	LastUsedAt   time.Time
	LastUsedAddr string
	RevokedAt    time.Time
}

// TokenPrefix marks mamori API tokens, so secret scanners can find leaked ones.
const TokenPrefix = "mamori_"

// MaxTokenLifetime bounds API token validity.
const MaxTokenLifetime = 366 * 24 * time.Hour

// CreateToken creates an API token for the signed-in user (step-up required)
// and returns it with its secret, which is shown once and never stored.
func (s *Service) CreateToken(ctx context.Context, name, scope string, expires time.Time) (*Token, string, error) {
	a, err := s.requireStepUp(ctx, mamori.Authenticated)
	if err != nil {
		return nil, "", err
	}
	name = strings.TrimSpace(name)
	f := mamori.FieldErrors{}
	if name == "" || utf8.RuneCountInString(name) > 60 {
		f.Add("name", "Enter a name of at most 60 characters.")
	}
	if scope != "read" && scope != "write" {
		f.Add("scope", "Choose read or read-write.")
	}
	now := s.Now()
	if !expires.After(now) {
		f.Add("expires_at", "The expiry must be in the future.")
	} else if expires.Sub(now) > MaxTokenLifetime {
		f.Add("expires_at", "A token may be valid for at most one year.")
	}
	if err := f.Err(); err != nil {
		return nil, "", err
	}
	secret := TokenPrefix + randomToken(32)
	t := &Token{ID: mamori.NewID(), UserID: a.UserID, Name: name, Hash: hashToken(secret), Scope: scope,
		ExpiresAt: expires.UTC(), CreatedAt: now}
	if err := s.store.CreateToken(ctx, t, audit.New(ctx, audit.TokenCreated, "api_token", t.ID).With("scope", scope)); err != nil {
		return nil, "", err
	}
	return t, secret, nil
}

// MyTokens lists the signed-in user's tokens.
func (s *Service) MyTokens(ctx context.Context) ([]*Token, error) {
	a, err := mamori.Require(ctx, mamori.Authenticated)
	if err != nil {
		return nil, err
	}
	return s.store.Tokens(ctx, a.UserID)
}

// RevokeToken revokes one of the signed-in user's tokens.
func (s *Service) RevokeToken(ctx context.Context, id string) error {
	a, err := mamori.Require(ctx, mamori.Authenticated)
	if err != nil {
		return err
	}
	return s.store.RevokeToken(ctx, a.UserID, id, audit.New(ctx, audit.TokenRevoked, "api_token", id))
}

var errBadToken = mamori.Errorf(mamori.EUNAUTHENTICATED, "The API token is invalid, expired or revoked.")

// AuthenticateToken resolves a bearer token to an actor. A read-scoped
// token withholds every permission that writes.
func (s *Service) AuthenticateToken(ctx context.Context, secret string, c Client) (*mamori.Actor, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 100 {
		return nil, errBadToken
	}
	t, err := s.store.TokenByHash(ctx, hashToken(secret))
	if err != nil {
		if mamori.ErrorCode(err) == mamori.ENOTFOUND {
			return nil, errBadToken
		}
		return nil, err
	}
	now := s.Now()
	if !t.RevokedAt.IsZero() || !now.Before(t.ExpiresAt) {
		return nil, errBadToken
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return nil, errBadToken
	}
	if ok, _ := u.CanSignIn(now); !ok {
		return nil, errBadToken
	}
	if now.Sub(t.LastUsedAt) > touchInterval || t.LastUsedAddr != c.Addr {
		_ = s.store.TouchToken(context.WithoutCancel(ctx), t.ID, now, c.Addr)
	}
	a := s.actorFor(u, c)
	a.TokenID = t.ID
	a.ReadOnly = t.Scope == "read"
	return a, nil
}
