package client

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/token"
)

// DefaultTokenCacheEntries is the default bound on the files in a
// TokenCache's directory.
const DefaultTokenCacheEntries = 64

// RecordingTokenVerifier verifies tokens and repeats, for a token it
// accepted earlier, every check except the signature. *token.Verifier
// implements it.
type RecordingTokenVerifier interface {
	VerifyRecord(ctx context.Context, raw string, host string) (*verifier.Claims, token.Record, error)
	Recheck(r token.Record, host string, now time.Time) error
}

// TokenCache is a TokenVerifier that keeps verified tokens on disk, keyed by
// the SHA-256 of the token, so that the next rassh process that receives the
// same token skips its signature check and the parsing of its claims. An
// epoch-mode agent serves one token for minutes, so most connections hit.
//
// A hit is accepted only when Tokens.Recheck passes for this host at this
// time: the issuer still pinned with the same key-set URL, kind and alg and
// allowed for the host, and exp, nbf, iat and the maximum age. Otherwise
// the token is verified in full, so the cache never turns an acceptance
// into a rejection. Verifier's checks of the token age, the binding and the
// claims policy run on every connection, hit or miss. Only tokens that
// Tokens accepted are stored.
//
// The cache uses only files in Dir that the current user owns and that no
// other user can read or write, as the key-set cache does, and whose MAC,
// keyed with the token, matches. It is safe for concurrent use, also by
// several processes.
type TokenCache struct {
	Tokens RecordingTokenVerifier
	// Dir holds the cache files (directory 0700, files 0600). It is created
	// when missing. Empty means no caching.
	Dir string
	// MaxEntries bounds the files in Dir. Zero means
	// DefaultTokenCacheEntries.
	MaxEntries int
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// Verify returns the claims of raw from the cache after Tokens.Recheck, or
// verifies raw with Tokens and stores the result.
func (c *TokenCache) Verify(ctx context.Context, raw string, host string) (*verifier.Claims, error) {
	if c.Dir == "" {
		claims, _, err := c.Tokens.VerifyRecord(ctx, raw, host)
		return claims, err
	}
	sum := sha256.Sum256([]byte(raw))
	now := c.now()

	if entry, ok := c.load(raw, sum); ok && c.Tokens.Recheck(entry.Record, host, now) == nil {
		return entry.Claims, nil
	}

	claims, record, err := c.Tokens.VerifyRecord(ctx, raw, host)
	if err != nil {
		return nil, err
	}
	c.store(raw, sum, record, claims, now)
	return claims, nil
}

func (c *TokenCache) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *TokenCache) maxEntries() int {
	if c.MaxEntries <= 0 {
		return DefaultTokenCacheEntries
	}
	return c.MaxEntries
}
