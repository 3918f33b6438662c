// Package tokenissuer is the rassh CA's token service: it turns verified
// evidence into a short-lived JWT signed with an ECDSA P-256 key (ES256) of
// its own, for hosts that have no MAA to turn to. The key is never the SSH
// CA key, and its file holds nothing else.
//
// A token carries the standard claims iss, iat, nbf, exp and jti, plus
// "rassh": the verifier.Claims of the evidence. Clients verify it with
// verifier/token, kind "rassh", with keys from {URL}/v1/jwks.
package tokenissuer

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rassh/rassh/verifier"
)

// DefaultLifetime is how long an issued token is valid.
const DefaultLifetime = 5 * time.Minute

// Issuer signs rassh tokens. Create it with New, Generate or Load.
type Issuer struct {
	// URL is the iss of every token: the CA's base URL, under which
	// /v1/jwks serves the key.
	URL string
	// Lifetime is exp - iat. Zero means DefaultLifetime.
	Lifetime time.Duration
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time

	key *ecdsa.PrivateKey
	kid string
}

// New returns an issuer that signs with key, a P-256 key, as issuer URL.
func New(key *ecdsa.PrivateKey, issuerURL string) (*Issuer, error) {
	if key == nil || key.Curve.Params().Name != "P-256" {
		return nil, errors.New("token issuer: the signing key must be ECDSA P-256")
	}
	u, err := url.Parse(issuerURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("token issuer: issuer URL %q is not an absolute http or https URL", issuerURL)
	}
	kid, err := thumbprint(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	return &Issuer{URL: strings.TrimSuffix(issuerURL, "/"), key: key, kid: kid}, nil
}

// Kid returns the key ID: the RFC 7638 JWK thumbprint of the public key.
func (i *Issuer) Kid() string { return i.kid }

// tokenClaims is the payload of a rassh token.
type tokenClaims struct {
	jwt.RegisteredClaims
	Rassh *verifier.Claims `json:"rassh"`
}

// Issue signs a token for c, valid from now for the issuer's lifetime.
func (i *Issuer) Issue(c *verifier.Claims) (string, error) {
	if c == nil {
		return "", errors.New("token issuer: no claims to issue")
	}
	now := time.Now()
	if i.Now != nil {
		now = i.Now()
	}
	lifetime := i.Lifetime
	if lifetime <= 0 {
		lifetime = DefaultLifetime
	}
	jti := make([]byte, 16)
	rand.Read(jti)

	claims := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.URL,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(lifetime)),
			ID:        hex.EncodeToString(jti),
		},
		Rassh: c,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	t.Header["kid"] = i.kid
	raw, err := t.SignedString(i.key)
	if err != nil {
		return "", fmt.Errorf("token issuer: sign: %w", err)
	}
	return raw, nil
}

// jwk is the public key as a JSON Web Key.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// KeySet returns the JWKS document served at /v1/jwks.
func (i *Issuer) KeySet() any {
	x, y := coordinates(&i.key.PublicKey)
	return struct {
		Keys []jwk `json:"keys"`
	}{[]jwk{{Kty: "EC", Crv: "P-256", Kid: i.kid, Use: "sig", Alg: "ES256", X: x, Y: y}}}
}

func coordinates(pub *ecdsa.PublicKey) (x, y string) {
	point, _ := pub.Bytes() // uncompressed: 0x04, X (32 bytes), Y (32 bytes)
	return base64.RawURLEncoding.EncodeToString(point[1:33]), base64.RawURLEncoding.EncodeToString(point[33:65])
}

// thumbprint computes the RFC 7638 thumbprint: SHA-256 over the required
// members in lexicographic order, without whitespace.
func thumbprint(pub *ecdsa.PublicKey) (string, error) {
	if _, err := pub.Bytes(); err != nil {
		return "", fmt.Errorf("token issuer: public key: %w", err)
	}
	x, y := coordinates(pub)
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}
