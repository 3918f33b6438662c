package enroll

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/enroll/tee"
	"github.com/rassh/rassh/verifier/binding"
)

// testCA is a minimal CA on a loopback HTTPS server: it burns nonces, checks
// that the quote's REPORTDATA is the enrollment binding, and signs host
// certificates. Its hooks let tests break it on purpose.
type testCA struct {
	server *httptest.Server
	signer ssh.Signer

	mu         sync.Mutex
	nonces     map[string]bool
	usedTokens map[string]bool
	lifetime   time.Duration
	grant      []string // principals granted when the request names none
	down       bool     // return 503 for every request
	requests   []wire.EnrollmentRequest
	// mutate, when set, changes each certificate before it is signed.
	mutate func(*ssh.Certificate)
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{
		signer:     signer,
		nonces:     map[string]bool{},
		usedTokens: map[string]bool{},
		lifetime:   time.Hour,
		grant:      []string{"host1.example.com"},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/challenges", ca.challenge)
	mux.HandleFunc("POST /v1/enrollments", ca.enroll)
	mux.HandleFunc("GET /v1/ca", ca.keys)
	ca.server = httptest.NewUnstartedServer(ca.unlessDown(mux))
	// Tests that pin a wrong fingerprint make the server log handshake errors.
	ca.server.Config.ErrorLog = log.New(io.Discard, "", 0)
	ca.server.StartTLS()
	t.Cleanup(ca.server.Close)
	return ca
}

func (ca *testCA) unlessDown(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ca.mu.Lock()
		down := ca.down
		ca.mu.Unlock()
		if down {
			writeError(w, http.StatusServiceUnavailable, "unavailable", "CA is down for a test")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (ca *testCA) setDown(down bool) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.down = down
}

func (ca *testCA) enrollments() int {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	return len(ca.requests)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(wire.Error{Error: msg, Code: code})
}

func (ca *testCA) challenge(w http.ResponseWriter, r *http.Request) {
	nonce := make([]byte, 32)
	rand.Read(nonce)
	ca.mu.Lock()
	ca.nonces[string(nonce)] = true
	ca.mu.Unlock()
	json.NewEncoder(w).Encode(wire.ChallengeResponse{Nonce: nonce, ExpiresAt: time.Now().Add(time.Minute)})
}

func (ca *testCA) keys(w http.ResponseWriter, r *http.Request) {
	line := string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(ca.signer.PublicKey())))
	json.NewEncoder(w).Encode(wire.CAResponse{
		PublicKeys: []string{line},
		KnownHosts: []string{"@cert-authority *.example.com " + line},
	})
}

func (ca *testCA) enroll(w http.ResponseWriter, r *http.Request) {
	var req wire.EnrollmentRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.requests = append(ca.requests, req)

	if !ca.nonces[string(req.Nonce)] {
		writeError(w, http.StatusForbidden, "challenge_unknown", "challenge unknown or used")
		return
	}
	delete(ca.nonces, string(req.Nonce))
	if req.JoinToken != "" && ca.usedTokens[req.JoinToken] {
		writeError(w, http.StatusForbidden, "join_token_used", "join token already used")
		return
	}

	keys, blobs, err := parseKeys(req.HostKeys)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	want := binding.Enroll(req.Nonce, blobs, req.Principals, JoinTokenDigest(req.JoinToken))
	got, err := tee.QuoteReportData(req.Evidence.Quote)
	if err != nil || !bytes.Equal(got, want[:]) {
		writeError(w, http.StatusForbidden, "binding_mismatch", "evidence does not carry the enrollment binding")
		return
	}
	if req.JoinToken != "" {
		ca.usedTokens[req.JoinToken] = true
	}

	principals := req.Principals
	if len(principals) == 0 {
		principals = ca.grant
	}
	resp := wire.EnrollmentResponse{HostID: "host-1", Principals: principals}
	for _, key := range keys {
		cert, err := ca.sign(key, principals)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "internal_error", err.Error())
			return
		}
		resp.Certificates = append(resp.Certificates, string(ssh.MarshalAuthorizedKey(cert)))
	}
	json.NewEncoder(w).Encode(resp)
}

func (ca *testCA) sign(key ssh.PublicKey, principals []string) (*ssh.Certificate, error) {
	var serial [8]byte
	rand.Read(serial[:])
	now := time.Now()
	cert := &ssh.Certificate{
		Key:             key,
		Serial:          binary.BigEndian.Uint64(serial[:]) | 1,
		CertType:        ssh.HostCert,
		KeyId:           "test",
		ValidPrincipals: principals,
		ValidAfter:      uint64(now.Add(-time.Minute).Unix()),
		ValidBefore:     uint64(now.Add(ca.lifetime).Unix()),
	}
	if ca.mutate != nil {
		ca.mutate(cert)
	}
	if err := cert.SignCert(rand.Reader, ca.signer); err != nil {
		return nil, err
	}
	return cert, nil
}

func parseKeys(lines []string) ([]ssh.PublicKey, [][]byte, error) {
	var keys []ssh.PublicKey
	var blobs [][]byte
	for _, line := range lines {
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, nil, fmt.Errorf("host key %q: %w", line, err)
		}
		keys = append(keys, key)
		blobs = append(blobs, key.Marshal())
	}
	return keys, blobs, nil
}

var wireResponseWithNoCerts = wire.EnrollmentResponse{}
