package ca

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/ca/catest"
	"github.com/rassh/rassh/store"
	"github.com/rassh/rassh/verifier/tdx/tdxsim"
)

// t0 is the fixed issue time of the tests.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type harness struct {
	t     *testing.T
	auth  *Authority
	store *store.Store
	sim   *tdxsim.Authority
	now   time.Time
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	sim, err := tdxsim.NewAuthority(t0)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "ca.db"), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := GenerateKey(KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, store: st, sim: sim, now: t0}
	clock := func() time.Time { return h.now }
	h.auth = &Authority{
		Signer:       signer,
		Store:        st,
		Verifier:     catest.Verifier(sim, clock),
		Policy:       catest.Policy(),
		HostPatterns: []string{"*.example.com"},
		Now:          clock,
	}
	return h
}

// challenge stores a fresh nonce valid for five minutes.
func (h *harness) challenge() []byte {
	h.t.Helper()
	nonce := make([]byte, NonceSize)
	rand.Read(nonce)
	if err := h.store.PutChallenge(nonce, h.now.Add(5*time.Minute)); err != nil {
		h.t.Fatal(err)
	}
	return nonce
}

func (h *harness) register(identity string, principals ...string) {
	h.t.Helper()
	if _, err := h.store.PutRegistration(store.Registration{Identity: identity, Principals: principals}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) joinToken(token string, ttl time.Duration, principals ...string) {
	h.t.Helper()
	jt := store.JoinToken{ID: store.TokenID(token), Principals: principals, CreatedAt: h.now, ExpiresAt: h.now.Add(ttl)}
	if err := h.store.PutJoinToken(token, jt); err != nil {
		h.t.Fatal(err)
	}
}

// request builds an enrollment request for td over a fresh challenge.
func (h *harness) request(td *catest.TD, keys []ssh.PublicKey, principals []string, token string) *wire.EnrollmentRequest {
	h.t.Helper()
	req, err := td.Request(h.challenge(), keys, principals, token)
	if err != nil {
		h.t.Fatal(err)
	}
	return req
}

func (h *harness) enroll(req *wire.EnrollmentRequest) (*Result, error) {
	return h.auth.Enroll(context.Background(), req, "192.0.2.1:4242")
}

func (h *harness) lastEvent() store.Event {
	h.t.Helper()
	evs, err := h.store.Audit(0, 0)
	if err != nil || len(evs) == 0 {
		h.t.Fatalf("audit log: %d events, %v", len(evs), err)
	}
	return evs[len(evs)-1]
}

func parseCert(t *testing.T, line string) *ssh.Certificate {
	t.Helper()
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	c, ok := k.(*ssh.Certificate)
	if !ok {
		t.Fatalf("%q is not a certificate", line)
	}
	return c
}
