package token

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/rassh/rassh/verifier"
)

// maxKidLength bounds the kid a token may name. Real MAA kids are 44
// characters and rassh kids 43.
const maxKidLength = 256

// parsedToken is a token split and decoded, but not yet verified.
type parsedToken struct {
	raw        string
	header     tokenHeader
	payload    tokenPayload
	payloadRaw []byte
}

// tokenHeader holds the JOSE header fields Verify reads. The jku, x5u, jwk
// and x5c headers are deliberately not decoded: keys come only from the
// pinned key set.
type tokenHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

// tokenPayload holds the claim that selects the issuer; the rest is decoded
// after the signature has been checked.
type tokenPayload struct {
	Issuer string `json:"iss"`
}

// parse bounds and splits raw and decodes its header and payload. It
// rejects alg "none" and HMAC before the issuer is looked up.
func parse(raw string, maxSize int) (*parsedToken, error) {
	if len(raw) > maxSize {
		return nil, verifier.Reject(CheckSize, "parse token: %d bytes is more than the limit of %d", len(raw), maxSize)
	}
	if dots := strings.Count(raw, "."); dots != 2 {
		return nil, verifier.Reject(CheckFormat, "parse token: %d dots, a signed JWT has 2", dots)
	}
	parts := strings.Split(raw, ".")

	t := &parsedToken{raw: raw}
	if err := decodeSegment(parts[0], &t.header); err != nil {
		return nil, verifier.Reject(CheckFormat, "parse token: header: %v", err)
	}
	if len(t.header.Crit) > 0 {
		return nil, verifier.Reject(CheckFormat, "parse token: critical header extensions are not supported")
	}
	if err := checkHeaderAlg(t.header.Alg); err != nil {
		return nil, err
	}
	if len(t.header.Kid) > maxKidLength {
		return nil, verifier.Reject(CheckKid, "parse token: kid of %d bytes is longer than %d", len(t.header.Kid), maxKidLength)
	}

	payload, err := base64.RawURLEncoding.Strict().DecodeString(parts[1])
	if err != nil {
		return nil, verifier.Reject(CheckFormat, "parse token: payload: %v", err)
	}
	if err := json.Unmarshal(payload, &t.payload); err != nil {
		return nil, verifier.Reject(CheckFormat, "parse token: payload: %v", err)
	}
	t.payloadRaw = payload
	return t, nil
}

func decodeSegment(segment string, into any) error {
	data, err := base64.RawURLEncoding.Strict().DecodeString(segment)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, into)
}

func checkHeaderAlg(alg string) error {
	switch {
	case alg == "":
		return verifier.Reject(CheckAlg, "parse token: no alg in the header")
	case strings.EqualFold(alg, "none"):
		return verifier.Reject(CheckAlg, "parse token: alg %q: unsigned tokens are never accepted", truncate(alg))
	case strings.HasPrefix(strings.ToUpper(alg), "HS"):
		return verifier.Reject(CheckAlg, "parse token: alg %q: HMAC tokens are never accepted", truncate(alg))
	}
	return nil
}

// truncate shortens a value taken from an untrusted token for an error
// message.
func truncate(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
