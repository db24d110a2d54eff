package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/mamori-dev/mamori"
	"github.com/mamori-dev/mamori/internal/audit"
)

// TOTPCredential is a user's authenticator-app secret, sealed at rest.
type TOTPCredential struct {
	UserID    string
	Secret    []byte // sealed (envelope encryption bound to the user's row)
	Confirmed bool
	LastStep  int64 // the last time step accepted: a code is never accepted twice
	CreatedAt time.Time
}

const (
	totpPeriod = 30
	totpDigits = otp.DigitsSix
	totpSkew   = 1 // ±1 step, as RFC 6238 §5.2 recommends for network delay
)

func isTOTPCode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// TOTPEnrolment is what the enrolment page shows.
type TOTPEnrolment struct {
	Token  string // pending state, posted back with the first code
	Secret string // base32, for manual entry
	URI    string // otpauth:// URI
	QRPNG  string // data: URL of a QR code mamori rendered itself
}

// BeginTOTP creates a new secret for the signed-in user. It is stored only
// after the user proves the app works (ConfirmTOTP). Step-up is required when
// the user already has a second factor, since this replaces it.
func (s *Service) BeginTOTP(ctx context.Context, p *Principal) (*TOTPEnrolment, error) {
	if p.User.HasMFA() {
		if _, err := s.requireStepUp(ctx, mamori.Authenticated); err != nil {
			return nil, err
		}
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      "mamori",
		AccountName: p.User.Email,
		Period:      totpPeriod,
		Digits:      totpDigits,
		Algorithm:   otp.AlgorithmSHA1, // what every authenticator app supports
		SecretSize:  20,
	})
	if err != nil {
		return nil, fmt.Errorf("generate totp: %w", err)
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return nil, fmt.Errorf("totp qr: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	sealed, err := s.sealer.Seal([]byte(key.Secret()), "pending_logins", "data", p.User.ID)
	if err != nil {
		return nil, err
	}
	tok := randomToken(32)
	now := s.Now()
	if err := s.store.CreatePending(ctx, &Pending{IDHash: hashToken(tok), UserID: p.User.ID, Purpose: PendingTOTPEnrol,
		Data: base64.StdEncoding.EncodeToString(sealed), CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute)}); err != nil {
		return nil, err
	}
	return &TOTPEnrolment{Token: tok, Secret: key.Secret(), URI: key.URL(),
		QRPNG: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())}, nil
}

// ConfirmTOTP stores the secret once the first code from the app is right,
// and returns a fresh set of recovery codes (shown once).
func (s *Service) ConfirmTOTP(ctx context.Context, p *Principal, token, code string) ([]string, error) {
	pend, err := s.store.Pending(ctx, hashToken(token), PendingTOTPEnrol)
	if err != nil || pend.UserID != p.User.ID || !s.Now().Before(pend.ExpiresAt) {
		return nil, mamori.Errorf(mamori.EINVALID, "The enrolment has expired. Please start again.")
	}
	sealed, err := base64.StdEncoding.DecodeString(pend.Data)
	if err != nil {
		return nil, err
	}
	secret, err := s.sealer.Open(sealed, "pending_logins", "data", p.User.ID)
	if err != nil {
		return nil, err
	}
	step, ok := matchTOTP(string(secret), strings.TrimSpace(code), s.Now())
	if !ok {
		return nil, mamori.Invalid("code", "The code is incorrect. Check the time on your device and try again.")
	}
	stored, err := s.sealer.Seal(secret, "totp_credentials", "secret", p.User.ID)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.TakePending(ctx, pend.IDHash, PendingTOTPEnrol); err != nil {
		return nil, err
	}
	if err := s.store.SaveTOTP(ctx, &TOTPCredential{UserID: p.User.ID, Secret: stored, Confirmed: true, LastStep: step, CreatedAt: s.Now()},
		audit.New(ctx, audit.TOTPEnrolled, "user", p.User.ID)); err != nil {
		return nil, err
	}
	codes, err := s.newRecoveryCodes(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	// MFA just became available: the session counts as MFA-proven now.
	_ = s.store.SetSessionAuth(ctx, p.Session.IDHash, s.Now(), true, p.Session.Factors+","+FactorTOTP)
	return codes, nil
}

// matchTOTP returns the time step whose code equals code, within ±1 step.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	if !isTOTPCode(code) {
		return 0, false
	}
	step := now.Unix() / totpPeriod
	found, match := int64(0), false
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		want, err := totpCode(secret, time.Unix((step+d)*totpPeriod, 0), int(totpDigits))
		if err != nil {
			return 0, false
		}
		// Compare every candidate, in constant time, without returning early.
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && !match {
			found, match = step+d, true
		}
	}
	return found, match
}

// totpCode is the RFC 6238 code of a base32 secret at t (HMAC-SHA1, 30 s).
func totpCode(secret string, t time.Time, digits int) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: totpPeriod, Digits: otp.Digits(digits), Algorithm: otp.AlgorithmSHA1})
}

// verifyTOTP accepts code for the user if it matches a step later than the
// last one accepted (so a code is never accepted twice, even within its window).
func (s *Service) verifyTOTP(ctx context.Context, userID, code string) error {
	c, err := s.store.TOTP(ctx, userID)
	if err != nil {
		return errCodeFailed
	}
	secret, err := s.sealer.Open(c.Secret, "totp_credentials", "secret", userID)
	if err != nil {
		return err
	}
	step, ok := matchTOTP(string(secret), code, s.Now())
	if !ok || step <= c.LastStep {
		return errCodeFailed
	}
	used, err := s.store.UseTOTPStep(ctx, userID, step)
	if err != nil {
		return err
	}
	if !used {
		return errCodeFailed // another request used this step first
	}
	return nil
}

// RemoveTOTP removes the user's authenticator app (step-up required).
func (s *Service) RemoveTOTP(ctx context.Context, p *Principal) error {
	if _, err := s.requireStepUp(ctx, mamori.Authenticated); err != nil {
		return err
	}
	if NeedsMFA(p.User.Roles, s.MFAForAll(ctx)) && p.User.Passkeys == 0 {
		return mamori.Errorf(mamori.ECONFLICT, "Your role requires multi-factor authentication. Register a passkey before removing the authenticator app.")
	}
	return s.store.DeleteTOTP(ctx, p.User.ID, audit.New(ctx, audit.TOTPRemoved, "user", p.User.ID))
}

// recoveryAlphabet avoids characters that are easy to confuse.
var recoveryEncoding = base32.NewEncoding("ABCDEFGHJKLMNPQRSTUVWXYZ23456789").WithPadding(base32.NoPadding)

// newRecoveryCodes replaces the user's recovery codes with 10 new ones.
func (s *Service) newRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	codes := make([]string, 10)
	hashes := make([]string, 10)
	for i := range codes {
		c := recoveryEncoding.EncodeToString(randomBytes(8))[:12]
		codes[i] = c[:4] + "-" + c[4:8] + "-" + c[8:]
		hashes[i] = hashRecoveryCode(codes[i])
	}
	if err := s.store.ReplaceRecoveryCodes(ctx, userID, hashes,
		audit.New(ctx, audit.RecoveryCodesCreated, "user", userID)); err != nil {
		return nil, err
	}
	return codes, nil
}

// RegenerateRecoveryCodes issues new recovery codes (step-up required).
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, p *Principal) ([]string, error) {
	if _, err := s.requireStepUp(ctx, mamori.Authenticated); err != nil {
		return nil, err
	}
	if !p.User.HasMFA() {
		return nil, mamori.Errorf(mamori.ECONFLICT, "Set up an authenticator app or a passkey first.")
	}
	return s.newRecoveryCodes(ctx, p.User.ID)
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (s *Service) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	return s.store.RecoveryCodesLeft(ctx, userID)
}

// hashRecoveryCode normalises (case, separators) and hashes a code. Codes
// carry 60 random bits and are single-use, so SHA-256 suffices.
func hashRecoveryCode(code string) string {
	c := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
	sum := sha256.Sum256([]byte("mamori-recovery:" + c))
	return hex.EncodeToString(sum[:])
}
