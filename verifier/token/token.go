// Package token verifies attestation tokens: JWTs from Microsoft Azure
// Attestation (MAA) and from the rassh CA's own token service. A token is
// accepted only from a pinned issuer, signed with a key from that issuer's
// pinned key set, within its validity window and maximum age, and only for
// the hosts the issuer may vouch for. Its claims are mapped into the same
// normalized verifier.Claims that local quote verification yields.
//
// The key-set URLs named inside a token (the jku, x5u, jwk and x5c headers)
// are never followed. Real MAA tokens carry jku, so its presence is no reason
// to reject a token either.
package token

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/rassh/rassh/verifier"
)

// Issuer kinds, used in IssuerConfig.Kind.
const (
	KindMAA   = "maa"   // Microsoft Azure Attestation, TdxVm tokens, RS256
	KindRassh = "rassh" // the rassh CA's token service
)

// Defaults for the zero values of Verifier's fields.
const (
	DefaultLeeway         = time.Minute
	DefaultMaxAge         = 10 * time.Minute
	DefaultMaxSize        = 32 << 10
	DefaultRefetchEvery   = 30 * time.Second
	DefaultKeySetLifetime = 24 * time.Hour
	DefaultFetchTimeout   = 10 * time.Second
)

// IssuerConfig pins one trusted token issuer.
type IssuerConfig struct {
	// Issuer is the exact "iss" value, for MAA the instance URL, for example
	// "https://sharedeus2.eus2.attest.azure.net".
	Issuer string `json:"issuer"`
	// JWKSURL is the only place the issuer's keys come from: "{Issuer}/certs"
	// for MAA, "{CA URL}/v1/jwks" for the rassh CA. Empty means that default
	// for the kind.
	JWKSURL string `json:"jwks_url,omitempty"`
	// Kind is KindMAA or KindRassh; it selects how claims are mapped.
	Kind string `json:"kind"`
	// Algorithms are the accepted "alg" values. MAA allows only RS256, the
	// default for KindMAA. KindRassh defaults to ES256 and EdDSA. "none" and
	// the HMAC algorithms are never accepted.
	Algorithms []string `json:"algorithms,omitempty"`
	// HostPatterns are the hosts this issuer may vouch for, as ssh_config
	// patterns: "*" and "?" wildcards, "!" to exclude. Empty means no host,
	// so the issuer is usable only where Verify is called with host "".
	HostPatterns []string `json:"host_patterns,omitempty"`
}

// Verifier verifies attestation tokens from a fixed list of issuers. Set its
// fields before the first Verify and do not change them afterwards. It is
// safe for concurrent use.
type Verifier struct {
	Issuers []IssuerConfig
	// HTTPClient fetches key sets. Nil means a client with a 10 s timeout.
	// Redirects are never followed, whatever the client's CheckRedirect.
	HTTPClient *http.Client
	// Leeway is the clock skew allowed on exp, nbf and iat. Zero means
	// DefaultLeeway; a negative value means none.
	Leeway time.Duration
	// MaxAge is the maximum token age, measured from iat. Zero means
	// DefaultMaxAge.
	MaxAge time.Duration
	// MaxSize is the largest token accepted, in bytes. Zero means
	// DefaultMaxSize (real MAA tokens are 5 to 15 KiB).
	MaxSize int
	// RefetchEvery bounds how often an issuer's key set is fetched again when
	// a token names an unknown kid. Zero means DefaultRefetchEvery.
	RefetchEvery time.Duration
	// KeySetLifetime is how long a fetched key set is used before it is
	// fetched again. Zero means DefaultKeySetLifetime.
	KeySetLifetime time.Duration
	// KeyCacheDir, when set, keeps fetched key sets on disk (directory 0700,
	// files 0600) so that short-lived processes need not fetch them each run.
	KeyCacheDir string
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time

	initOnce sync.Once
	initErr  error
	issuers  map[string]*issuerState
}

// Verify checks raw as described in the package documentation and returns
// its claims. host is the host the token must vouch for. An empty host skips
// host scoping, for the CA, which verifies tokens before any host name is
// established. Rejections are *verifier.RejectedError with Check set to one
// of the Check* constants. A key set that cannot be fetched gives a
// *verifier.UndecidedError.
func (v *Verifier) Verify(ctx context.Context, raw string, host string) (*verifier.Claims, error) {
	if err := v.init(); err != nil {
		return nil, err
	}
	now := v.now()

	// Bound and split the token before any decoding.
	parsed, err := parse(raw, v.maxSize())
	if err != nil {
		return nil, err
	}

	// Choose the pinned issuer by the unverified iss, and scope it to host
	// before any key is fetched, so untrusted tokens cause no network traffic.
	state, ok := v.issuers[parsed.payload.Issuer]
	if !ok {
		return nil, verifier.Reject(CheckIssuer, "verify token: issuer %q is not trusted", truncate(parsed.payload.Issuer))
	}
	if host != "" && !matchHost(state.config.HostPatterns, host) {
		return nil, verifier.Reject(CheckHostScope, "verify token: issuer %q may not vouch for host %q", state.config.Issuer, host)
	}
	if !state.allowsAlg(parsed.header.Alg) {
		return nil, verifier.Reject(CheckAlg, "verify token: alg %q is not accepted for issuer %q", truncate(parsed.header.Alg), state.config.Issuer)
	}

	// Find the key by kid in the pinned key set, then check the signature
	// and the registered claims.
	key, err := state.key(ctx, v, parsed.header.Kid, now)
	if err != nil {
		return nil, err
	}
	issuedAt, err := v.checkSignatureAndTimes(parsed, state, key, now)
	if err != nil {
		return nil, err
	}
	return mapClaims(state.config, parsed.payloadRaw, issuedAt, now)
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) maxSize() int {
	if v.MaxSize > 0 {
		return v.MaxSize
	}
	return DefaultMaxSize
}

func (v *Verifier) leeway() time.Duration {
	switch {
	case v.Leeway < 0:
		return 0
	case v.Leeway == 0:
		return DefaultLeeway
	}
	return v.Leeway
}

func (v *Verifier) maxAge() time.Duration {
	if v.MaxAge > 0 {
		return v.MaxAge
	}
	return DefaultMaxAge
}

func (v *Verifier) refetchEvery() time.Duration {
	if v.RefetchEvery > 0 {
		return v.RefetchEvery
	}
	return DefaultRefetchEvery
}

func (v *Verifier) keySetLifetime() time.Duration {
	if v.KeySetLifetime > 0 {
		return v.KeySetLifetime
	}
	return DefaultKeySetLifetime
}
