package auth

import (
	"context"
	"time"

	"github.com/mamori-dev/mamori"
)

// Notification is a message to a user, shown in mamori and mailed.
type Notification struct {
	ID      string
	UserID  string
	At      time.Time
	Kind    string
	Subject string
	Body    string
	Link    string
	ReadAt  time.Time
}

// notifyAdmins tells every active administrator about a privileged event
// (role grant, MFA reset of another user, setting change, administrator
// sign-in), in mamori and by mail. Failures are logged, never fatal: the
// event itself is in the audit trail.
func (s *Service) notifyAdmins(ctx context.Context, kind, subject, body string) {
	ctx = context.WithoutCancel(ctx)
	sys := mamori.WithActor(ctx, mamori.SystemActor())
	admins, _, err := s.store.Users(sys, UserFilter{Role: RoleAdmin, Status: StatusActive, Limit: 1000})
	if err != nil {
		s.log.ErrorContext(ctx, "notify admins", "error", err)
		return
	}
	now := s.Now()
	var ns []*Notification
	for _, u := range admins {
		if u.Decoy {
			continue
		}
		ns = append(ns, &Notification{ID: mamori.NewID(), UserID: u.ID, At: now, Kind: kind, Subject: subject, Body: body})
		s.mail(ctx, u.Email, "mamori: "+subject, body)
	}
	if err := s.store.AddNotifications(ctx, ns); err != nil {
		s.log.ErrorContext(ctx, "notify admins", "error", err)
	}
}

// MyNotifications lists the signed-in user's notifications, newest first.
func (s *Service) MyNotifications(ctx context.Context, limit int) ([]*Notification, error) {
	a, err := mamori.Require(ctx, mamori.Authenticated)
	if err != nil {
		return nil, err
	}
	return s.store.Notifications(ctx, a.UserID, limit)
}

// MarkNotificationsRead marks all of the user's notifications read.
func (s *Service) MarkNotificationsRead(ctx context.Context) error {
	a, err := mamori.Require(ctx, mamori.Authenticated)
	if err != nil {
		return err
	}
	return s.store.MarkNotificationsRead(ctx, a.UserID, s.Now())
}

// Notify sends a notification to one user (other modules use it for
// deadlines and expiring exceptions).
func (s *Service) Notify(ctx context.Context, userID, kind, subject, body, link string) error {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	n := &Notification{ID: mamori.NewID(), UserID: userID, At: s.Now(), Kind: kind, Subject: subject, Body: body, Link: link}
	if err := s.store.AddNotifications(ctx, []*Notification{n}); err != nil {
		return err
	}
	if u.Status == StatusActive && !u.Decoy {
		s.mail(ctx, u.Email, "mamori: "+subject, body)
	}
	return nil
}
