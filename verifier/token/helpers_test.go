package token_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/maa/maatest"
	"github.com/rassh/rassh/verifier/token"
)

// keySetServer serves a key set at /certs on loopback and counts requests.
type keySetServer struct {
	*httptest.Server
	requests atomic.Int32

	mu     sync.Mutex
	body   []byte
	status int
}

func newKeySetServer(t testing.TB, body []byte) *keySetServer {
	t.Helper()
	s := &keySetServer{body: body, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		w.WriteHeader(s.status)
		w.Write(s.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *keySetServer) set(status int, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.body = status, body
}

// testClock is a settable clock for Verifier.Now.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// localIssuer is an MAA-shaped issuer under test control: its key, its key
// set served on loopback, and a clock.
type localIssuer struct {
	url    string
	key    *maatest.Key
	server *keySetServer
	clock  *testClock
}

const localIssuerURL = "https://maa.test.invalid"

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newLocalIssuer(t *testing.T) *localIssuer {
	t.Helper()
	key, err := maatest.NewKey(localIssuerURL)
	if err != nil {
		t.Fatal(err)
	}
	return &localIssuer{
		url:    localIssuerURL,
		key:    key,
		server: newKeySetServer(t, maatest.KeySet(key)),
		clock:  &testClock{now: testNow},
	}
}

func (li *localIssuer) config() token.IssuerConfig {
	return token.IssuerConfig{
		Issuer:       li.url,
		JWKSURL:      li.server.URL + "/certs",
		Kind:         token.KindMAA,
		HostPatterns: []string{"*.example.com"},
	}
}

func (li *localIssuer) verifier() *token.Verifier {
	return &token.Verifier{Issuers: []token.IssuerConfig{li.config()}, Now: li.clock.Now}
}

// claims returns registered claims valid at the issuer's clock.
func (li *localIssuer) claims() jwt.MapClaims {
	now := li.clock.Now()
	return jwt.MapClaims{
		"iss":                   li.url,
		"iat":                   now.Unix(),
		"nbf":                   now.Unix(),
		"exp":                   now.Add(8 * time.Hour).Unix(),
		"x-ms-attestation-type": "sgx",
	}
}

func (li *localIssuer) sign(t *testing.T, claims jwt.MapClaims, extraHeader map[string]any) string {
	t.Helper()
	raw, err := li.key.Sign(claims, li.url+"/certs", extraHeader)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// wantRejected checks that err is a *verifier.RejectedError for check.
func wantRejected(t *testing.T, err error, check string) {
	t.Helper()
	var rejected *verifier.RejectedError
	if !errors.As(err, &rejected) {
		t.Fatalf("error = %v (%T), want a RejectedError with check %q", err, err, check)
	}
	if rejected.Check != check {
		t.Fatalf("check = %q (%v), want %q", rejected.Check, err, check)
	}
}

func readTestdata(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
