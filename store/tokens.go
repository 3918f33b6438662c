package store

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TokenDigest is the SHA-256 of a token string, the key under which join and
// admin tokens are stored.
func TokenDigest(token string) []byte {
	d := sha256.Sum256([]byte(token))
	return d[:]
}

// TokenID is the public ID of a token: the first 8 bytes of its digest in hex.
func TokenID(token string) string { return hex.EncodeToString(TokenDigest(token)[:8]) }

// PutJoinToken stores t under the digest of token. t.ID must be TokenID(token).
func (s *Store) PutJoinToken(token string, t JoinToken) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		key := TokenDigest(token)
		if tx.Bucket(bucketJoinTokens).Get(key) != nil {
			return fmt.Errorf("put join token %s: already exists", t.ID)
		}
		return put(tx.Bucket(bucketJoinTokens), key, t)
	})
}

// JoinToken returns the join token whose string has the given digest, or
// ErrJoinTokenUnknown. It does not check use or expiry.
func (s *Store) JoinToken(digest []byte) (JoinToken, error) {
	var t JoinToken
	err := s.db.View(func(tx *bolt.Tx) error {
		ok, err := get(tx, bucketJoinTokens, digest, &t)
		if err == nil && !ok {
			err = ErrJoinTokenUnknown
		}
		return err
	})
	return t, err
}

// JoinTokens lists all join tokens.
func (s *Store) JoinTokens() ([]JoinToken, error) { return list[JoinToken](s, bucketJoinTokens) }

// burnJoinToken marks the token with the given digest as used by identity, or
// fails with ErrJoinTokenUnknown, ErrJoinTokenUsed or ErrJoinTokenExpired. A
// token is expired from its ExpiresAt on.
func burnJoinToken(tx *bolt.Tx, digest []byte, identity string, now time.Time) (JoinToken, error) {
	var t JoinToken
	ok, err := get(tx, bucketJoinTokens, digest, &t)
	switch {
	case err != nil:
		return t, err
	case !ok:
		return t, ErrJoinTokenUnknown
	case !t.UsedAt.IsZero():
		return t, ErrJoinTokenUsed
	case !now.Before(t.ExpiresAt):
		return t, ErrJoinTokenExpired
	}
	t.UsedAt = now.UTC()
	t.UsedBy = identity
	return t, put(tx.Bucket(bucketJoinTokens), digest, t)
}

// PutAdminToken stores t under the digest of token.
func (s *Store) PutAdminToken(token string, t AdminToken) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return put(tx.Bucket(bucketAdminTokens), TokenDigest(token), t)
	})
}

// AdminToken returns the admin token whose string has the given digest, or
// ErrNotFound.
func (s *Store) AdminToken(digest []byte) (AdminToken, error) {
	var t AdminToken
	err := s.db.View(func(tx *bolt.Tx) error {
		ok, err := get(tx, bucketAdminTokens, digest, &t)
		if err == nil && !ok {
			err = ErrNotFound
		}
		return err
	})
	return t, err
}

// Token prefixes, so that a leaked token shows what kind it is.
const (
	JoinTokenPrefix  = "rassh-join-"
	AdminTokenPrefix = "rassh-admin-"
)

// NewToken returns prefix followed by 32 random bytes in unpadded base64url.
func NewToken(random io.Reader, prefix string) (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}
