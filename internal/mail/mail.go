// Package mail sends mamori's notifications and password-reset links by
// SMTP. Without SMTP, development mode writes mail to the server log, and
// production mode refuses to send (and says so in the log, without the body).
package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"github.com/mamori-dev/mamori"
)

// Config is the SMTP part of the configuration.
type Config struct {
	Host, Username, Password, From, TLS string
	Port                                int
}

// SMTP sends mail through an SMTP server.
type SMTP struct {
	cfg Config
}

// NewSMTP returns a sender for cfg.
func NewSMTP(cfg Config) *SMTP { return &SMTP{cfg: cfg} }

// Send sends one UTF-8 plain-text message.
func (s *SMTP) Send(ctx context.Context, to []string, subject, body string) error {
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	d := net.Dialer{Timeout: 15 * time.Second}
	var conn net.Conn
	var err error
	tlsCfg := &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}
	if s.cfg.TLS == "tls" {
		conn, err = tls.DialWithDialer(&d, "tcp", addr, tlsCfg)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("smtp dial %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(time.Minute))
	}
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: %w", err)
	}
	defer c.Close()
	if s.cfg.TLS == "starttls" {
		if err := c.StartTLS(tlsCfg); err != nil {
			return fmt.Errorf("smtp starttls: %w", err)
		}
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(s.cfg.From); err != nil {
		return fmt.Errorf("smtp mail from: %w", err)
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return fmt.Errorf("smtp rcpt: %w", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if _, err := w.Write(Compose(s.cfg.From, to, subject, body, time.Now())); err != nil {
		return fmt.Errorf("smtp write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	return c.Quit()
}

// Compose builds an RFC 5322 message: UTF-8 text, base64 body, encoded
// subject, a Message-ID.
func Compose(from string, to []string, subject, body string, at time.Time) []byte {
	var b bytes.Buffer
	host := "mamori.local"
	if i := strings.LastIndexByte(from, '@'); i >= 0 {
		host = from[i+1:]
	}
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", from)
	hdr("To", strings.Join(to, ", "))
	hdr("Subject", mime.BEncoding.Encode("utf-8", subject))
	hdr("Date", at.Format(time.RFC1123Z))
	hdr("Message-ID", "<"+mamori.NewID()+"@"+host+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "base64")
	hdr("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(body))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes()
}

// Log writes mail to the log: development mode without SMTP only, since a
// reset link in a log is a credential.
type Log struct{ L *slog.Logger }

// Send logs the message.
func (l Log) Send(ctx context.Context, to []string, subject, body string) error {
	l.L.WarnContext(ctx, "development mode: mail not sent, shown here instead",
		slog.Any("to", to), slog.String("subject", subject), slog.String("body", body))
	return nil
}

// Disabled refuses to send: production without SMTP.
type Disabled struct{ L *slog.Logger }

// Send logs that nothing was sent (without the body, which may hold a link).
func (d Disabled) Send(ctx context.Context, to []string, subject, _ string) error {
	d.L.WarnContext(ctx, "mail not sent: smtp.host is not configured", slog.String("subject", subject), slog.Int("recipients", len(to)))
	return nil
}
