package auth

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"

	"github.com/mamori-dev/mamori"
)

// Argon2Params are the argon2id cost parameters. They are stored beside each
// hash (PHC string format), so raising them re-hashes passwords at their
// next successful sign-in.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	SaltLen int
	KeyLen  uint32
}

// DefaultArgon2 follows RFC 9106's second recommended option (64 MiB, t=3).
var DefaultArgon2 = Argon2Params{Memory: 64 * 1024, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}

// MaxPasswordLen bounds the input to hashing (in characters after
// normalisation), far above any real passphrase.
const MaxPasswordLen = 256

// normalize applies NFKC so that the same password typed on a Japanese IME
// (full-width) or a Latin keyboard (half-width) is the same password.
func normalize(pw string) string { return norm.NFKC.String(pw) }

// HashPassword returns the PHC-format argon2id hash of pw.
func HashPassword(pw string, p Argon2Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := argon2.IDKey([]byte(normalize(pw)), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// parsedHash is a decoded PHC string.
type parsedHash struct {
	params Argon2Params
	salt   []byte
	key    []byte
}

func parseHash(h string) (parsedHash, error) {
	var ph parsedHash
	parts := strings.Split(h, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return ph, fmt.Errorf("not an argon2id hash")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return ph, fmt.Errorf("unsupported argon2 version")
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return ph, fmt.Errorf("bad argon2 parameters")
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return ph, fmt.Errorf("bad salt")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) == 0 {
		return ph, fmt.Errorf("bad key")
	}
	p.SaltLen, p.KeyLen = len(salt), uint32(len(key))
	return parsedHash{p, salt, key}, nil
}

// VerifyPassword reports whether pw matches hash (constant-time), and whether
// the hash should be recomputed with params.
func VerifyPassword(pw, hash string, params Argon2Params) (ok, rehash bool) {
	ph, err := parseHash(hash)
	if err != nil {
		return false, false
	}
	key := argon2.IDKey([]byte(normalize(pw)), ph.salt, ph.params.Time, ph.params.Memory, ph.params.Threads, ph.params.KeyLen)
	if subtle.ConstantTimeCompare(key, ph.key) != 1 {
		return false, false
	}
	return true, ph.params != params
}

// PasswordLevel is one of four strengths an administrator picks (as SPIRAL
// offers its customers).
type PasswordLevel int

// PasswordPolicy is what a level requires.
type PasswordPolicy struct {
	Level      PasswordLevel
	MinLength  int
	MinClasses int // of: lower case, upper case, digits, symbols (other characters count as symbols)
}

// Policies lists the four levels.
var Policies = []PasswordPolicy{
	{1, 8, 2},
	{2, 10, 3},
	{3, 12, 3},
	{4, 16, 4},
}

// DefaultPasswordLevel is level 3: 12 characters from three classes.
const DefaultPasswordLevel PasswordLevel = 3

// Policy returns the policy of level l (the default for an unknown level).
func Policy(l PasswordLevel) PasswordPolicy {
	for _, p := range Policies {
		if p.Level == l {
			return p
		}
	}
	return Policy(DefaultPasswordLevel)
}

//go:embed common-passwords.txt.gz
var commonPasswordsGz []byte

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	zr, err := gzip.NewReader(bytes.NewReader(commonPasswordsGz))
	if err != nil {
		panic("auth: common password list: " + err.Error())
	}
	m := make(map[string]struct{}, 50000)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		m[sc.Text()] = struct{}{}
	}
	if sc.Err() != nil {
		panic("auth: common password list: " + sc.Err().Error())
	}
	return m
})

// CommonPasswordCount is the size of the embedded list (for tests and docs).
func CommonPasswordCount() int { return len(commonPasswords()) }

// CheckPassword validates pw for the user with this login ID and e-mail
// under policy p. It returns EINVALID on the field "password" saying why.
func CheckPassword(pw string, p PasswordPolicy, login, email string) error {
	if !utf8.ValidString(pw) {
		return mamori.Invalid("password", "The password contains invalid characters.")
	}
	n := normalize(pw)
	length := utf8.RuneCountInString(n)
	if length < p.MinLength {
		return mamori.Invalid("password", fmt.Sprintf("The password must be at least %d characters long.", p.MinLength))
	}
	if length > MaxPasswordLen {
		return mamori.Invalid("password", fmt.Sprintf("The password must be at most %d characters long.", MaxPasswordLen))
	}
	var lower, upper, digit, symbol bool
	for _, r := range n {
		switch {
		case unicode.IsControl(r):
			return mamori.Invalid("password", "The password contains invalid characters.")
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			symbol = true
		}
	}
	classes := 0
	for _, b := range []bool{lower, upper, digit, symbol} {
		if b {
			classes++
		}
	}
	if classes < p.MinClasses {
		return mamori.Invalid("password", fmt.Sprintf("The password must mix at least %d kinds of characters (lower case, upper case, digits, symbols).", p.MinClasses))
	}
	low := strings.ToLower(n)
	for _, id := range []string{login, email, localPart(email)} {
		id = strings.ToLower(normalize(id))
		if len(id) >= 3 && strings.Contains(low, id) {
			return mamori.Invalid("password", "The password must not contain your login ID or e-mail address.")
		}
	}
	if _, bad := commonPasswords()[low]; bad {
		return mamori.Invalid("password", "This password is on a list of common or breached passwords. Choose another.")
	}
	return nil
}

func localPart(email string) string {
	if i := strings.IndexByte(email, '@'); i > 0 {
		return email[:i]
	}
	return ""
}
