package team

import "strings"

// WriteKeyPrefix starts every write key, so that it reads as one (and
// secret scanners can tell it from an API token, which starts "tend_").
const WriteKeyPrefix = "wk_"

// writeKeyShown is how much of a write key is kept in the clear to tell
// keys apart: "wk_" and seven characters of the random part.
const writeKeyShown = 10

// MaxWriteKeyName bounds a write key's name (the source it names), in
// characters, wherever keys are made: the UI, the API and the CLI.
const MaxWriteKeyName = 100

// NewWriteKeySecret returns a new write key secret, the hash to store and
// the prefix kept in the clear. The secret is as random as an API token
// (160 bits) and, like one, stored only as its SHA-256 hash (HashToken):
// ingestion looks a key up on every request, so the hash must be fast, and
// 160 random bits leave nothing to guess.
func NewWriteKeySecret() (secret string, hash []byte, prefix string, err error) {
	tok, _, err := NewTokenSecret()
	if err != nil {
		return "", nil, "", err
	}
	secret = WriteKeyPrefix + strings.TrimPrefix(tok, TokenPrefix)
	return secret, HashToken(secret), secret[:writeKeyShown], nil
}
