package token

import (
	"encoding/json"
	"time"

	"github.com/rassh/rassh/verifier"
)

// mapClaims turns the verified payload into normalized claims for the
// issuer's kind.
func mapClaims(config IssuerConfig, payload []byte, issuedAt, now time.Time) (*verifier.Claims, error) {
	var claims *verifier.Claims
	var err error
	if config.Kind == KindRassh {
		claims, err = mapRasshClaims(payload)
	} else {
		claims, err = mapMAAClaims(payload)
	}
	if err != nil {
		return nil, err
	}
	claims.Issuer = config.Issuer
	claims.IssuedAt = issuedAt.UTC()
	claims.VerifiedAt = now.UTC()
	return claims, nil
}

// mapRasshClaims reads the "rassh" claim of a token from the rassh CA's
// token service: the verifier.Claims the CA's evidence verifier produced.
func mapRasshClaims(payload []byte) (*verifier.Claims, error) {
	var body struct {
		Rassh json.RawMessage `json:"rassh"`
	}
	if err := json.Unmarshal(payload, &body); err != nil {
		return nil, verifier.Reject(CheckClaims, "read rassh claims: %v", err)
	}
	if len(body.Rassh) == 0 || string(body.Rassh) == "null" {
		return nil, verifier.Reject(CheckClaims, "read rassh claims: no \"rassh\" claim")
	}
	var claims verifier.Claims
	if err := json.Unmarshal(body.Rassh, &claims); err != nil {
		return nil, verifier.Reject(CheckClaims, "read rassh claims: %v", err)
	}
	claims.Verifier = verifier.VerifierRassh
	return &claims, nil
}
