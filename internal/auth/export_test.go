package auth

import "time"

// TOTPCodeForTest exposes the code generator for the RFC 6238 vectors.
func TOTPCodeForTest(secret string, t time.Time, digits int) (string, error) {
	return totpCode(secret, t, digits)
}
