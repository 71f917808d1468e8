package team

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/tendhq/tend/internal/derrors"
)

// argon2id parameters: OWASP's second recommended set (19 MiB, 2 passes),
// which keeps a login under ~50 ms on the 2-core machines Tend targets.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16
)

// MinPasswordLength is the shortest password Tend accepts.
const MinPasswordLength = 10

// HashPassword returns an argon2id hash in the PHC string format.
func HashPassword(password string) (string, error) {
	if len(password) < MinPasswordLength {
		return "", derrors.Field(derrors.Unprocessable, "password", "must be at least %d characters", MinPasswordLength)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches the PHC-format hash.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var mem uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &p); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, mem, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// TokenPrefix starts every API token, so that secret scanners can find them.
const TokenPrefix = "tend_"

// NewTokenSecret returns a new random API token and the hash to store.
func NewTokenSecret() (secret string, hash []byte, err error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	secret = TokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	return secret, HashToken(secret), nil
}

// MaxTokenName caps a token's name.
const MaxTokenName = 100

// CanHoldToken refuses a token for a disabled member: it would not work.
func CanHoldToken(u User) error {
	if u.Disabled {
		return derrors.Field(derrors.Unprocessable, "user", "%s is disabled; a token for them would not work", u.Email)
	}
	return nil
}

// HashToken returns the stored form of a token secret. Tokens are 160 random
// bits, so a fast hash is enough (no dictionary to guard against).
func HashToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// NewToken returns a new API token for the user, ready to store, and its
// secret, which is shown once and never stored.
func NewToken(userID int64, name string) (secret string, t Token, err error) {
	if len(name) > MaxTokenName {
		return "", Token{}, derrors.Field(derrors.Unprocessable, "name", "is longer than %d characters", MaxTokenName)
	}
	secret, hash, err := NewTokenSecret()
	if err != nil {
		return "", Token{}, err
	}
	return secret, Token{UserID: userID, Name: name, Prefix: secret[:len(TokenPrefix)+6], Hash: hash}, nil
}
