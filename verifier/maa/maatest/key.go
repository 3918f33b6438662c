package maatest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Key is a token-signing key shaped like MAA's. It is RSA-2048 with a
// self-signed certificate, published only as x5c (no n, e, alg or use). Its
// kid is standard base64 of 32 bytes, so it contains "+", "/" and "=".
type Key struct {
	Kid         string
	Private     *rsa.PrivateKey
	Certificate *x509.Certificate
}

// NewKey generates a key whose certificate names subject, for example the
// issuer URL as MAA's certificates do.
func NewKey(subject string) (*Key, error) {
	private, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate MAA-shaped key: %w", err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: subject},
		NotBefore:             time.Date(2019, 5, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2050, 12, 31, 23, 59, 59, 0, time.UTC),
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &private.PublicKey, private)
	if err != nil {
		return nil, fmt.Errorf("generate MAA-shaped key: certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("generate MAA-shaped key: certificate: %w", err)
	}
	return &Key{Kid: newKid(), Private: private, Certificate: cert}, nil
}

// newKid returns random kids until one contains both "+" and "/" (about
// half of them do), so that every client sees a kid that breaks naive use as
// a URL path or query value.
func newKid() string {
	b := make([]byte, 32)
	for {
		rand.Read(b)
		kid := base64.StdEncoding.EncodeToString(b)
		if strings.Contains(kid, "+") && strings.Contains(kid, "/") {
			return kid
		}
	}
}

// JWK returns the key as MAA's /certs lists it: kty, kid and x5c only.
func (k *Key) JWK() map[string]any {
	return map[string]any{
		"kty": "RSA",
		"kid": k.Kid,
		"x5c": []string{base64.StdEncoding.EncodeToString(k.Certificate.Raw)},
	}
}

// KeySet returns a JWKS document listing keys.
func KeySet(keys ...*Key) []byte {
	set := struct {
		Keys []map[string]any `json:"keys"`
	}{Keys: []map[string]any{}}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.JWK())
	}
	data, _ := json.Marshal(set)
	return data
}

// Sign returns an RS256 token over claims with the header MAA sends (alg,
// kid, typ and jku), plus any extra header fields, which overwrite those.
func (k *Key) Sign(claims jwt.MapClaims, jku string, extraHeader map[string]any) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = k.Kid
	if jku != "" {
		t.Header["jku"] = jku
	}
	for name, value := range extraHeader {
		t.Header[name] = value
	}
	return t.SignedString(k.Private)
}
