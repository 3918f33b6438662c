package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// minRSABits is the smallest RSA modulus accepted in a key set.
const minRSABits = 2048

// publicKey is one usable key of a key set.
type publicKey struct {
	key crypto.PublicKey
	alg string // the JWK's "alg", empty when it names none (MAA keys do not)
}

// jwk holds the JSON Web Key fields a key set may use (RFC 7517, RFC 7518).
type jwk struct {
	Kty string   `json:"kty"`
	Kid string   `json:"kid"`
	Use string   `json:"use"`
	Alg string   `json:"alg"`
	X5c []string `json:"x5c"`
	N   string   `json:"n"`
	E   string   `json:"e"`
	Crv string   `json:"crv"`
	X   string   `json:"x"`
	Y   string   `json:"y"`
}

// parseKeySet decodes a JWKS into keys by kid. Keys without a kid, keys
// not meant for signatures and keys that fail to decode are left out, and so
// is every key whose kid appears more than once, because a lookup by that kid
// would be ambiguous. It fails only when the document is not a JWKS or no key
// is left.
func parseKeySet(data []byte) (map[string]publicKey, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("invalid JWKS: %w", err)
	}

	keys := make(map[string]publicKey, len(set.Keys))
	seen := make(map[string]bool, len(set.Keys))
	for _, k := range set.Keys {
		if k.Kid == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		if seen[k.Kid] {
			delete(keys, k.Kid)
			continue
		}
		seen[k.Kid] = true
		key, err := k.publicKey()
		if err != nil {
			continue
		}
		keys[k.Kid] = publicKey{key: key, alg: k.Alg}
	}
	if len(keys) == 0 {
		return nil, errors.New("JWKS has no usable signing key")
	}
	return keys, nil
}

// publicKey returns the key of k. With x5c the key is that of the first
// certificate, and any n/e or x/y given alongside must be the same key.
func (k *jwk) publicKey() (crypto.PublicKey, error) {
	var fromCert, fromParams crypto.PublicKey
	var err error
	if len(k.X5c) > 0 {
		if fromCert, err = certificateKey(k.X5c[0]); err != nil {
			return nil, err
		}
	}
	if k.N != "" || k.X != "" {
		if fromParams, err = k.parameterKey(); err != nil {
			return nil, err
		}
	}

	key := fromCert
	if key == nil {
		key = fromParams
	}
	if key == nil {
		return nil, fmt.Errorf("key %q has neither x5c nor key parameters", k.Kid)
	}
	if fromCert != nil && fromParams != nil && !sameKey(fromCert, fromParams) {
		return nil, fmt.Errorf("key %q: x5c and key parameters differ", k.Kid)
	}
	if err := checkKey(k.Kty, key); err != nil {
		return nil, fmt.Errorf("key %q: %w", k.Kid, err)
	}
	return key, nil
}

func certificateKey(b64 string) (crypto.PublicKey, error) {
	// x5c entries are standard base64 DER, not base64url (RFC 7517 4.7).
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("x5c: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("x5c: %w", err)
	}
	return cert.PublicKey, nil
}

func (k *jwk) parameterKey() (crypto.PublicKey, error) {
	switch k.Kty {
	case "RSA":
		n, err := bigFromBase64URL(k.N)
		if err != nil {
			return nil, fmt.Errorf("n: %w", err)
		}
		e, err := bigFromBase64URL(k.E)
		if err != nil || !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
			return nil, fmt.Errorf("invalid RSA exponent %q", k.E)
		}
		return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
	case "EC":
		return ecKey(k.Crv, k.X, k.Y)
	case "OKP":
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || k.Crv != "Ed25519" || len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("invalid OKP key (crv %q)", k.Crv)
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, fmt.Errorf("unsupported kty %q", k.Kty)
}

func ecKey(crv, x, y string) (crypto.PublicKey, error) {
	var curve elliptic.Curve
	switch crv {
	case "P-256":
		curve = elliptic.P256()
	case "P-384":
		curve = elliptic.P384()
	default:
		return nil, fmt.Errorf("unsupported curve %q", crv)
	}
	size := (curve.Params().BitSize + 7) / 8
	xb, errX := base64.RawURLEncoding.DecodeString(x)
	yb, errY := base64.RawURLEncoding.DecodeString(y)
	if errX != nil || errY != nil || len(xb) != size || len(yb) != size {
		return nil, fmt.Errorf("invalid %s point coordinates", crv)
	}
	point := append([]byte{4}, append(xb, yb...)...)
	return ecdsa.ParseUncompressedPublicKey(curve, point)
}

func bigFromBase64URL(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, errors.New("empty")
	}
	return new(big.Int).SetBytes(b), nil
}

// checkKey checks that key has the type kty names (when it names one) and a
// size worth trusting.
func checkKey(kty string, key crypto.PublicKey) error {
	switch key := key.(type) {
	case *rsa.PublicKey:
		if kty != "" && kty != "RSA" {
			return fmt.Errorf("kty %q but an RSA key", kty)
		}
		if key.N.BitLen() < minRSABits {
			return fmt.Errorf("RSA key of %d bits is shorter than %d", key.N.BitLen(), minRSABits)
		}
	case *ecdsa.PublicKey:
		if kty != "" && kty != "EC" {
			return fmt.Errorf("kty %q but an EC key", kty)
		}
		if key.Curve != elliptic.P256() && key.Curve != elliptic.P384() {
			return fmt.Errorf("unsupported curve %s", key.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		if kty != "" && kty != "OKP" {
			return fmt.Errorf("kty %q but an Ed25519 key", kty)
		}
	default:
		return fmt.Errorf("unsupported key type %T", key)
	}
	return nil
}

func sameKey(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}
