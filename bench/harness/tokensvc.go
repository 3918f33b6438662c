package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/local"
	"github.com/rassh/rassh/verifier/tdx"
)

// maxAttestBody bounds a POST /v1/attest body: a quote is at most 64 KiB,
// which base64 and JSON grow by about a third.
const maxAttestBody = 256 << 10

// tokenService stands in for the CA's token service: POST /v1/attest
// verifies the evidence with the local backend (the real TDX quote
// verifier, trusting the simulation root) and returns an ES256 token of
// kind "rassh"; GET /v1/jwks serves its key. The agent reaches it over HTTPS
// with a pinned certificate, as it reaches the CA; the client fetches the
// key set over plain HTTP on a second listener, because rassh trusts only
// the system roots for key sets.
//
// NOTE: a stand-in until verifier/tokenissuer is mounted by rassh-ca serve.
// It does the same work per request (parse and verify one quote, sign one
// token), so the latency it adds matches the CA's, but it has no rate limit.
type tokenService struct {
	AttestURL   string // https://127.0.0.1:port, the agent's ca.url
	Fingerprint string // SHA-256 of the TLS certificate's DER, hex
	Issuer      string // http://127.0.0.1:port, the tokens' iss
	JWKSURL     string

	backend *local.Backend
	key     *ecdsa.PrivateKey
	kid     string
	attests atomic.Int64
	jwks    atomic.Int64

	servers []*http.Server
}

// startTokenService listens on two loopback ports and trusts the simulated
// TDs whose PCK chain ends in the root certificate at rootPEM.
func startTokenService(rootPEM string) (*tokenService, error) {
	roots, err := loadPool(rootPEM)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	s := &tokenService{backend: &local.Backend{Quotes: &tdx.Verifier{SimulationRoots: roots}}, key: key, kid: "bench-es256"}

	cert, err := selfSignedTLS()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(cert.Certificate[0])
	s.Fingerprint = hex.EncodeToString(sum[:])

	attestAddr, err := s.serve(http.HandlerFunc(s.handleAttest), &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		return nil, err
	}
	jwksAddr, err := s.serve(http.HandlerFunc(s.handleJWKS), nil)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.AttestURL = "https://" + attestAddr
	s.Issuer = "http://" + jwksAddr
	s.JWKSURL = s.Issuer + "/v1/jwks"
	return s, nil
}

func (s *tokenService) serve(h http.Handler, tlsConfig *tls.Config) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	if tlsConfig != nil {
		srv.TLSConfig = tlsConfig
		go srv.ServeTLS(ln, "", "")
	} else {
		go srv.Serve(ln)
	}
	return ln.Addr().String(), nil
}

// Close stops both listeners.
func (s *tokenService) Close() {
	for _, srv := range s.servers {
		srv.Close()
	}
}

// Counts returns how many tokens were issued and key sets served.
func (s *tokenService) Counts() (attests, jwks int64) {
	return s.attests.Load(), s.jwks.Load()
}

func (s *tokenService) handleAttest(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/attest" {
		http.NotFound(w, r)
		return
	}
	var req wire.AttestRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAttestBody+1))
	if err == nil && len(body) > maxAttestBody {
		err = fmt.Errorf("body exceeds %d bytes", maxAttestBody)
	}
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, wire.Error{Error: "invalid request: " + err.Error(), Code: "invalid_request"})
		return
	}
	claims, err := s.backend.Verify(r.Context(), req.Evidence)
	if err != nil {
		writeJSON(w, http.StatusForbidden, wire.Error{Error: err.Error(), Code: "evidence_rejected"})
		return
	}
	token, err := s.sign(claims)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, wire.Error{Error: "signing failed", Code: "internal"})
		return
	}
	s.attests.Add(1)
	writeJSON(w, http.StatusOK, wire.AttestResponse{Token: token})
}

// sign issues a token with the layout of kind "rassh": the registered
// claims plus the normalized claims under "rassh".
func (s *tokenService) sign(c *verifier.Claims) (string, error) {
	now := time.Now()
	jti := make([]byte, 16)
	rand.Read(jti)
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": s.Issuer, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"jti": base64.RawURLEncoding.EncodeToString(jti), "rassh": c,
	})
	tok.Header["kid"] = s.kid
	return tok.SignedString(s.key)
}

func (s *tokenService) handleJWKS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/v1/jwks" {
		http.NotFound(w, r)
		return
	}
	s.jwks.Add(1)
	x, y := make([]byte, 32), make([]byte, 32)
	s.key.PublicKey.X.FillBytes(x)
	s.key.PublicKey.Y.FillBytes(y)
	jwk := map[string]string{"kty": "EC", "crv": "P-256", "kid": s.kid, "use": "sig", "alg": "ES256",
		"x": base64.RawURLEncoding.EncodeToString(x), "y": base64.RawURLEncoding.EncodeToString(y)}
	writeJSON(w, http.StatusOK, map[string]any{"keys": []any{jwk}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func loadPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("load simulation root: no certificate in %s", path)
	}
	return pool, nil
}

// selfSignedTLS returns a P-256 certificate for 127.0.0.1, valid one day.
func selfSignedTLS() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: newSerial(), NotBefore: now.Add(-time.Minute), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
}
