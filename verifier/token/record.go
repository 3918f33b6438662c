package token

import (
	"context"
	"encoding/json"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rassh/rassh/verifier"
)

// Record contains the inputs of a successful verification other than the
// signature: the pinned issuer, its key-set URL and kind, the alg, and the
// token's time claims. A cache of verified tokens stores it so that Recheck
// can repeat every check that depends on the time, the host or the
// configuration without checking the signature again.
type Record struct {
	Issuer    string    `json:"issuer"`
	JWKSURL   string    `json:"jwks_url"`
	Kind      string    `json:"kind"` // decides how the claims are mapped
	Alg       string    `json:"alg"`
	IssuedAt  time.Time `json:"iat"`
	ExpiresAt time.Time `json:"exp"`
	// NotBefore is zero when the token has no nbf.
	NotBefore time.Time `json:"nbf,omitzero"`
}

// VerifyRecord is Verify, and also returns the Record of the accepted token.
func (v *Verifier) VerifyRecord(ctx context.Context, raw string, host string) (*verifier.Claims, Record, error) {
	claims, err := v.Verify(ctx, raw, host)
	if err != nil {
		return nil, Record{}, err
	}
	record, err := v.describe(raw)
	if err != nil {
		return nil, Record{}, err
	}
	return claims, record, nil
}

// describe reads the Record of raw, a token Verify has just accepted, so
// the header and payload are known to decode and iss to be pinned.
func (v *Verifier) describe(raw string) (Record, error) {
	parsed, err := parse(raw, v.maxSize())
	if err != nil {
		return Record{}, err
	}
	var times struct {
		IssuedAt  *jwt.NumericDate `json:"iat"`
		ExpiresAt *jwt.NumericDate `json:"exp"`
		NotBefore *jwt.NumericDate `json:"nbf"`
	}
	if err := json.Unmarshal(parsed.payloadRaw, &times); err != nil {
		return Record{}, verifier.Reject(CheckClaims, "describe token: %v", err)
	}
	if times.IssuedAt == nil || times.ExpiresAt == nil {
		return Record{}, verifier.Reject(CheckClaims, "describe token: iat or exp missing")
	}

	record := Record{
		Issuer:    parsed.payload.Issuer,
		JWKSURL:   v.issuers[parsed.payload.Issuer].config.JWKSURL,
		Kind:      v.issuers[parsed.payload.Issuer].config.Kind,
		Alg:       parsed.header.Alg,
		IssuedAt:  times.IssuedAt.UTC(),
		ExpiresAt: times.ExpiresAt.UTC(),
	}
	if times.NotBefore != nil {
		record.NotBefore = times.NotBefore.UTC()
	}
	return record, nil
}

// Recheck repeats every check of Verify except the signature for a token
// that VerifyRecord accepted earlier. It checks that the issuer is still
// pinned with the same key-set URL and kind and accepts the alg, and that
// the issuer may vouch for host. An empty host skips the host check, as in Verify. At
// now, the exp, nbf and iat claims must hold within the leeway and the token
// must be within the maximum age. Rejections carry the same Check values as
// Verify's.
func (v *Verifier) Recheck(r Record, host string, now time.Time) error {
	if err := v.init(); err != nil {
		return err
	}
	state, ok := v.issuers[r.Issuer]
	if !ok {
		return verifier.Reject(CheckIssuer, "recheck token: issuer %q is not trusted", truncate(r.Issuer))
	}
	if state.config.JWKSURL != r.JWKSURL {
		return verifier.Reject(CheckIssuer, "recheck token: issuer %q now has key set %q, not %q",
			r.Issuer, state.config.JWKSURL, truncate(r.JWKSURL))
	}
	if state.config.Kind != r.Kind {
		return verifier.Reject(CheckIssuer, "recheck token: issuer %q is now of kind %q, not %q",
			r.Issuer, state.config.Kind, truncate(r.Kind))
	}
	if host != "" && !matchHost(state.config.HostPatterns, host) {
		return verifier.Reject(CheckHostScope, "recheck token: issuer %q may not vouch for host %q", r.Issuer, host)
	}
	if !state.allowsAlg(r.Alg) {
		return verifier.Reject(CheckAlg, "recheck token: alg %q is not accepted for issuer %q", truncate(r.Alg), r.Issuer)
	}
	return v.recheckTimes(r, now)
}

// recheckTimes applies the rules of golang-jwt v5's validator, which Verify
// uses, to the recorded times, and then the maximum age.
func (v *Verifier) recheckTimes(r Record, now time.Time) error {
	leeway := v.leeway()
	if r.ExpiresAt.IsZero() || !now.Before(r.ExpiresAt.Add(leeway)) {
		return verifier.Reject(CheckExpired, "recheck token of issuer %q: expired at %s",
			r.Issuer, r.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if !r.NotBefore.IsZero() && now.Before(r.NotBefore.Add(-leeway)) {
		return verifier.Reject(CheckNotYetValid, "recheck token of issuer %q: not valid before %s",
			r.Issuer, r.NotBefore.UTC().Format(time.RFC3339))
	}
	if r.IssuedAt.IsZero() {
		return verifier.Reject(CheckAge, "recheck token of issuer %q: no iat, so its age is unknown", r.Issuer)
	}
	if now.Before(r.IssuedAt.Add(-leeway)) {
		return verifier.Reject(CheckNotYetValid, "recheck token of issuer %q: issued at %s, in the future",
			r.Issuer, r.IssuedAt.UTC().Format(time.RFC3339))
	}
	if age := now.Sub(r.IssuedAt); age > v.maxAge()+leeway {
		return verifier.Reject(CheckAge, "recheck token of issuer %q: issued at %s, %s ago, more than the maximum age of %s",
			r.Issuer, r.IssuedAt.UTC().Format(time.RFC3339), age.Round(time.Second), v.maxAge())
	}
	return nil
}
