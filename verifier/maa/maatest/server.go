// Package maatest is an emulator of Microsoft Azure Attestation (MAA) for
// tests and the demo. It speaks MAA's TdxVm API (POST /attest/TdxVm, GET
// /certs, GET /.well-known/openid-configuration), verifies evidence through
// an injected verifier (in rassh, the local backend) and issues RS256 tokens
// with MAA's TdxVm claim set from its own MAA-shaped keys.
//
// It is never a default: nothing in rassh trusts it unless a configuration
// pins its URL as an issuer.
package maatest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rassh/rassh/verifier"
)

// EvidenceVerifier verifies a quote and its runtime data into claims.
// verifier/local's Backend implements it.
type EvidenceVerifier interface {
	Verify(ctx context.Context, ev verifier.Evidence) (*verifier.Claims, error)
}

// DefaultTokenLifetime is how long the emulator's tokens are valid, the
// same 8 hours as MAA's.
const DefaultTokenLifetime = 8 * time.Hour

// maxRequestSize bounds the attest request body: a base64url quote of at
// most verifier.MaxQuoteSize plus runtime data, with room for JSON.
const maxRequestSize = 2 * (verifier.MaxQuoteSize + verifier.MaxRuntimeDataSize)

// Server is the emulator, an http.Handler. Create it with New.
type Server struct {
	// Evidence verifies the quotes posted to /attest/TdxVm.
	Evidence EvidenceVerifier
	// Issuer is the iss of the tokens and the base of the /certs URL. Empty
	// means the base URL the request came to (scheme and Host header), which
	// suits a server on loopback.
	Issuer string
	// TokenLifetime is the exp - iat of tokens. Zero means DefaultTokenLifetime.
	TokenLifetime time.Duration
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time

	mux     *http.ServeMux
	mu      sync.Mutex
	keys    []*Key
	signing *Key
}

// New returns an emulator with one fresh signing key.
func New(ev EvidenceVerifier) (*Server, error) {
	s := &Server{Evidence: ev}
	if _, err := s.RotateKey(); err != nil {
		return nil, err
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /attest/TdxVm", s.handleAttest)
	s.mux.HandleFunc("GET /certs", s.handleCerts)
	s.mux.HandleFunc("GET /.well-known/openid-configuration", s.handleOpenIDConfiguration)
	return s, nil
}

// RotateKey adds a new key to /certs and signs later tokens with it. The old
// keys stay listed, as they do at MAA while its tokens are still valid.
func (s *Server) RotateKey() (*Key, error) {
	key, err := NewKey("rassh MAA emulator")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, key)
	s.signing = key
	return key, nil
}

// SigningKey returns the key that signs new tokens.
func (s *Server) SigningKey() *Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signing
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

func (s *Server) handleCerts(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	keySet := KeySet(s.keys...)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Write(keySet)
}

// handleOpenIDConfiguration serves the document in the shape MAA serves it.
func (s *Server) handleOpenIDConfiguration(w http.ResponseWriter, r *http.Request) {
	issuer := s.issuer(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"response_types_supported":              []string{"token", "none"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"revocation_endpoint":                   issuer + "/revoke",
		"issuer":                                issuer,
		"jwks_uri":                              issuer + "/certs",
		"claims_supported":                      claimsSupported,
	})
}

func (s *Server) issuer(r *http.Request) string {
	if s.Issuer != "" {
		return strings.TrimSuffix(s.Issuer, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// writeError writes an error in the shape of Azure REST APIs, which MAA uses.
func writeError(w http.ResponseWriter, status int, code, message string) {
	type detail struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	writeJSON(w, status, struct {
		Error detail `json:"error"`
	}{detail{code, message}})
}
