package api

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rassh/rassh/internal/syncbuffer"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/ca"
	"github.com/rassh/rassh/ca/catest"
	"github.com/rassh/rassh/store"
	"github.com/rassh/rassh/verifier/tdx/tdxsim"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type harness struct {
	t      *testing.T
	srv    *httptest.Server
	api    *Server
	store  *store.Store
	sim    *tdxsim.Authority
	admin  string
	logBuf *syncBuffer

	mu  sync.Mutex
	now time.Time
}

// syncBuffer collects the server's log while the test reads it.
type syncBuffer = syncbuffer.Buffer

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
	key, _ := ca.GenerateKey(ca.KeyEd25519)
	signer, _ := ca.NewSigner(key)

	h := &harness{t: t, store: st, sim: sim, now: t0, logBuf: &syncBuffer{}}
	auth := &ca.Authority{
		Signer:       signer,
		Store:        st,
		Verifier:     catest.Verifier(sim, h.clock),
		Policy:       catest.Policy(),
		HostPatterns: []string{"*.example.com"},
		Now:          h.clock,
	}
	h.api = &Server{
		Enroller:     auth,
		Store:        st,
		CAKey:        signer.PublicKey(),
		HostPatterns: auth.HostPatterns,
		MaxBodyBytes: 128 << 10,
		Logger:       slog.New(slog.NewJSONHandler(h.logBuf, nil)),
		Now:          h.clock,
	}
	h.srv = httptest.NewServer(h.api.Handler())
	t.Cleanup(h.srv.Close)

	h.admin, _ = store.NewToken(rand.Reader, store.AdminTokenPrefix)
	if err := st.PutAdminToken(h.admin, store.AdminToken{ID: store.TokenID(h.admin), CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	h.now = h.now.Add(d)
	h.mu.Unlock()
}

// do sends a request with a JSON or raw body and returns status and body.
func (h *harness) do(method, path string, body any, token string) (int, []byte) {
	h.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, h.srv.URL+path, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func (h *harness) challenge() []byte {
	h.t.Helper()
	status, body := h.do("POST", "/v1/challenges", nil, "")
	var c wire.ChallengeResponse
	if status != http.StatusCreated || json.Unmarshal(body, &c) != nil {
		h.t.Fatalf("POST /v1/challenges: %d %s", status, body)
	}
	return c.Nonce
}

func (h *harness) request(td *catest.TD, keys []ssh.PublicKey, principals []string, token string) *wire.EnrollmentRequest {
	h.t.Helper()
	req, err := td.Request(h.challenge(), keys, principals, token)
	if err != nil {
		h.t.Fatal(err)
	}
	return req
}

func (h *harness) register(identity string, principals ...string) {
	h.t.Helper()
	status, body := h.do("POST", "/v1/registrations", wire.RegistrationRequest{Identity: identity, Principals: principals}, h.admin)
	if status != http.StatusCreated {
		h.t.Fatalf("register: %d %s", status, body)
	}
}

func (h *harness) joinToken(ttl time.Duration, principals ...string) string {
	h.t.Helper()
	req := wire.JoinTokenRequest{Principals: principals, TTLSeconds: int64(ttl / time.Second)}
	status, body := h.do("POST", "/v1/join-tokens", req, h.admin)
	var resp wire.JoinTokenResponse
	if status != http.StatusCreated || json.Unmarshal(body, &resp) != nil {
		h.t.Fatalf("create join token: %d %s", status, body)
	}
	return resp.Token
}

func (h *harness) lastEvent() store.Event {
	h.t.Helper()
	evs, err := h.store.Audit(0, 0)
	if err != nil || len(evs) == 0 {
		h.t.Fatalf("audit log: %d events, %v", len(evs), err)
	}
	return evs[len(evs)-1]
}

func hostKey() ssh.PublicKey {
	k, _ := catest.HostKey()
	return k
}
