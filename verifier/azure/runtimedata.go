package azure

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/rassh/rassh/verifier"
)

// UserDataSize is the size of the user data the paravisor copies from vTPM
// NV index 0x01400002 into the runtime data.
const UserDataSize = 64

// RuntimeData is the parsed runtime-data JSON of an HCL report.
type RuntimeData struct {
	// Keys are the paravisor's vTPM keys as JWKs: HCLAkPub (attestation key,
	// "sign") and HCLEkPub (endorsement key, "encrypt").
	Keys            []JWK
	VMConfiguration verifier.VMConfiguration
	// UserData is the decoded "user-data": the rassh binding value.
	UserData []byte
	// Raw is the exact JSON that was parsed.
	Raw []byte
}

// JWK is one RSA key of the runtime data's "keys" array.
type JWK struct {
	KeyID   string   `json:"kid"`
	KeyOps  []string `json:"key_ops"`
	KeyType string   `json:"kty"`
	E       string   `json:"e"`
	N       string   `json:"n"`
}

// Key IDs the paravisor uses in "keys".
const (
	KeyIDAttestation = "HCLAkPub"
	KeyIDEndorsement = "HCLEkPub"
)

type runtimeDataJSON struct {
	Keys            []JWK                     `json:"keys"`
	VMConfiguration *verifier.VMConfiguration `json:"vm-configuration"`
	UserData        *string                   `json:"user-data"`
}

// ParseRuntimeData parses runtime-data JSON of at most
// verifier.MaxRuntimeDataSize bytes. Members rassh does not use (such as
// "tpm-persisted") are allowed. A member name that repeats within one object
// is rejected, so that no other JSON reader can see a different value.
// "vm-configuration" with a "vmUniqueId", and "user-data" as 128 upper-case
// hex digits, are required.
func ParseRuntimeData(b []byte) (*RuntimeData, error) {
	if len(b) > verifier.MaxRuntimeDataSize {
		return nil, fmt.Errorf("azure: parse runtime data: size %d bytes exceeds the maximum of %d", len(b), verifier.MaxRuntimeDataSize)
	}
	if err := checkNoDuplicateNames(b); err != nil {
		return nil, fmt.Errorf("azure: parse runtime data: %w", err)
	}
	var doc runtimeDataJSON
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("azure: parse runtime data: invalid json: %w", err)
	}

	if doc.VMConfiguration == nil {
		return nil, errors.New(`azure: parse runtime data: missing "vm-configuration"`)
	}
	if doc.VMConfiguration.VMUniqueID == "" {
		return nil, errors.New(`azure: parse runtime data: missing "vm-configuration"."vmUniqueId"`)
	}
	if doc.UserData == nil {
		return nil, errors.New(`azure: parse runtime data: missing "user-data"`)
	}
	userData, err := decodeUserData(*doc.UserData)
	if err != nil {
		return nil, fmt.Errorf("azure: parse runtime data: %w", err)
	}
	for i, k := range doc.Keys {
		if k.KeyID == "" {
			return nil, fmt.Errorf(`azure: parse runtime data: key %d has no "kid"`, i)
		}
	}

	return &RuntimeData{
		Keys:            doc.Keys,
		VMConfiguration: *doc.VMConfiguration,
		UserData:        userData,
		Raw:             b,
	}, nil
}

// decodeUserData decodes "user-data", which the paravisor writes as upper-case hex.
func decodeUserData(s string) ([]byte, error) {
	if len(s) != 2*UserDataSize {
		return nil, fmt.Errorf(`"user-data" has %d characters, expected %d hex digits`, len(s), 2*UserDataSize)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'A' || c > 'F') {
			return nil, fmt.Errorf(`"user-data" character %d is %q, expected an upper-case hex digit`, i, c)
		}
	}
	return hex.DecodeString(s)
}

// Key returns the key with the given kid.
func (r *RuntimeData) Key(kid string) (*JWK, bool) {
	for i := range r.Keys {
		if r.Keys[i].KeyID == kid {
			return &r.Keys[i], true
		}
	}
	return nil, false
}

// RSAPublicKey decodes k as an RSA public key of 2048 to 4096 bits.
func (k *JWK) RSAPublicKey() (*rsa.PublicKey, error) {
	if k.KeyType != "RSA" {
		return nil, fmt.Errorf("azure: jwk %q: key type %q is not RSA", k.KeyID, k.KeyType)
	}
	n, err := base64.RawURLEncoding.DecodeString(k.N)
	if err != nil {
		return nil, fmt.Errorf("azure: jwk %q: invalid modulus: %w", k.KeyID, err)
	}
	e, err := base64.RawURLEncoding.DecodeString(k.E)
	if err != nil {
		return nil, fmt.Errorf("azure: jwk %q: invalid exponent: %w", k.KeyID, err)
	}
	bits := new(big.Int).SetBytes(n).BitLen()
	if bits < 2048 || bits > 4096 {
		return nil, fmt.Errorf("azure: jwk %q: modulus of %d bits, expected 2048 to 4096", k.KeyID, bits)
	}
	if len(e) == 0 || len(e) > 4 {
		return nil, fmt.Errorf("azure: jwk %q: exponent of %d bytes, expected 1 to 4", k.KeyID, len(e))
	}
	exp := int(new(big.Int).SetBytes(e).Int64())
	if exp < 3 || exp%2 == 0 {
		return nil, fmt.Errorf("azure: jwk %q: invalid exponent %d", k.KeyID, exp)
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}, nil
}

// checkNoDuplicateNames walks the JSON document b and returns an error for
// the first object that has the same member name twice. encoding/json would
// silently keep the last one.
func checkNoDuplicateNames(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := walkValue(dec); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("invalid json: data after the top-level value")
	}
	return nil
}

func walkValue(dec *json.Decoder) error {
	tok, err := nextToken(dec)
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		return walkObject(dec)
	case json.Delim('['):
		for dec.More() {
			if err := walkValue(dec); err != nil {
				return err
			}
		}
		_, err := nextToken(dec) // ']'
		return err
	}
	return nil
}

func walkObject(dec *json.Decoder) error {
	seen := map[string]bool{}
	for dec.More() {
		tok, err := nextToken(dec)
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		if seen[name] {
			return fmt.Errorf("duplicate member %q", name)
		}
		seen[name] = true
		if err := walkValue(dec); err != nil {
			return err
		}
	}
	_, err := nextToken(dec) // '}'
	return err
}

// nextToken reads a token inside a JSON value, where the end of the input is
// an error.
func nextToken(dec *json.Decoder) (json.Token, error) {
	tok, err := dec.Token()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, fmt.Errorf("invalid json: %w", err)
	}
	return tok, nil
}
