package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rassh/rassh/verifier"
)

// checkSignatureAndTimes verifies the signature with key and the registered
// claims iss, exp, nbf and iat, then the maximum age. It returns iat.
func (v *Verifier) checkSignatureAndTimes(t *parsedToken, state *issuerState, key publicKey, now time.Time) (time.Time, error) {
	if err := checkKeyFitsAlg(key, t.header.Alg); err != nil {
		return time.Time{}, verifier.Reject(CheckSignature, "verify token: kid %q of issuer %q: %v", truncate(t.header.Kid), state.config.Issuer, err)
	}

	parser := jwt.NewParser(
		jwt.WithValidMethods(state.config.Algorithms),
		jwt.WithIssuer(state.config.Issuer),
		jwt.WithLeeway(v.leeway()),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
		jwt.WithStrictDecoding(),
	)
	var registered jwt.RegisteredClaims
	_, err := parser.ParseWithClaims(t.raw, &registered, func(*jwt.Token) (any, error) { return key.key, nil })
	if err != nil {
		return time.Time{}, classifyJWTError(err, state.config.Issuer)
	}

	if registered.IssuedAt == nil {
		return time.Time{}, verifier.Reject(CheckAge, "verify token: no iat claim, so its age is unknown")
	}
	age := now.Sub(registered.IssuedAt.Time)
	if age > v.maxAge()+v.leeway() {
		return time.Time{}, verifier.Reject(CheckAge, "verify token: issued at %s, %s ago, more than the maximum age of %s",
			registered.IssuedAt.UTC().Format(time.RFC3339), age.Round(time.Second), v.maxAge())
	}
	return registered.IssuedAt.Time, nil
}

// classifyJWTError maps a golang-jwt error to the check it failed. The
// library joins several claim errors into one, so the order below decides
// which is reported.
func classifyJWTError(err error, issuer string) error {
	checks := []struct {
		target error
		check  string
	}{
		{jwt.ErrTokenMalformed, CheckFormat},
		{jwt.ErrTokenSignatureInvalid, CheckSignature},
		{jwt.ErrTokenUnverifiable, CheckSignature},
		{jwt.ErrTokenExpired, CheckExpired},
		{jwt.ErrTokenNotValidYet, CheckNotYetValid},
		{jwt.ErrTokenUsedBeforeIssued, CheckNotYetValid},
		{jwt.ErrTokenInvalidIssuer, CheckIssuer},
	}
	for _, c := range checks {
		if errors.Is(err, c.target) {
			return verifier.Reject(c.check, "verify token of issuer %q: %v", issuer, err)
		}
	}
	return verifier.Reject(CheckClaims, "verify token of issuer %q: %v", issuer, err)
}

// checkKeyFitsAlg checks that the key from the key set is of the type and
// curve alg requires, and that the key's own "alg", if it names one, is alg.
func checkKeyFitsAlg(key publicKey, alg string) error {
	if key.alg != "" && key.alg != alg {
		return fmt.Errorf("key is for alg %q, but the token header has alg %q", key.alg, alg)
	}
	var fits bool
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		_, fits = key.key.(*rsa.PublicKey)
	case "ES256":
		ec, ok := key.key.(*ecdsa.PublicKey)
		fits = ok && ec.Curve == elliptic.P256()
	case "ES384":
		ec, ok := key.key.(*ecdsa.PublicKey)
		fits = ok && ec.Curve == elliptic.P384()
	case "EdDSA":
		_, fits = key.key.(ed25519.PublicKey)
	}
	if !fits {
		return fmt.Errorf("a %T key cannot verify alg %q", key.key, alg)
	}
	return nil
}
