package enroll

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/enroll/tee"
	"github.com/rassh/rassh/verifier/tdx/tdxsim"
)

var (
	authorityOnce sync.Once
	authority     *tdxsim.Authority
)

func simulatedProvider(t testing.TB) Provider {
	t.Helper()
	authorityOnce.Do(func() {
		var err error
		if authority, err = tdxsim.NewAuthority(time.Now()); err != nil {
			panic(err)
		}
	})
	return &tee.Simulated{Authority: authority}
}

func hostKey(t testing.TB) (ssh.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return key, priv
}

func pinnedClient(t testing.TB, ca *testCA) *Client {
	t.Helper()
	sum := sha256.Sum256(ca.server.Certificate().Raw)
	httpClient, err := NewHTTPClient(TLSOptions{Fingerprint: hex.EncodeToString(sum[:])})
	if err != nil {
		t.Fatal(err)
	}
	return &Client{BaseURL: ca.server.URL, HTTPClient: httpClient}
}

func newEnroller(t testing.TB, ca *testCA, keys ...ssh.PublicKey) *Enroller {
	t.Helper()
	return &Enroller{
		CA:       pinnedClient(t, ca),
		Provider: simulatedProvider(t),
		HostKeys: KeyList(keys),
		CAKeys:   []ssh.PublicKey{ca.signer.PublicKey()},
	}
}

func TestEnrollOverPinnedTLS(t *testing.T) {
	ca := newTestCA(t)
	k1, _ := hostKey(t)
	k2, _ := hostKey(t)
	e := newEnroller(t, ca, k1, k2)
	e.Principals = []string{"b.example.com", "a.example.com"}
	e.JoinToken = "join-1"

	got, err := e.Enroll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Certificates) != 2 {
		t.Fatalf("%d certificates, expected 2", len(got.Certificates))
	}
	for i, key := range []ssh.PublicKey{k1, k2} {
		if !bytes.Equal(got.Certificates[i].Key.Marshal(), key.Marshal()) {
			t.Errorf("certificate %d certifies another key", i)
		}
	}
	req := ca.requests[0]
	if req.JoinToken != "join-1" || !slices.Equal(req.Principals, e.Principals) || len(req.HostKeys) != 2 {
		t.Errorf("request = %+v", req)
	}
}

func TestEnrollCAGrantsPrincipals(t *testing.T) {
	ca := newTestCA(t)
	k, _ := hostKey(t)
	got, err := newEnroller(t, ca, k).Enroll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p := got.Certificates[0].ValidPrincipals; !slices.Equal(p, ca.grant) {
		t.Errorf("principals = %q, expected %q", p, ca.grant)
	}
}

func TestFetchCAKeys(t *testing.T) {
	ca := newTestCA(t)
	keys, err := pinnedClient(t, ca).CAKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || !bytes.Equal(keys[0].Marshal(), ca.signer.PublicKey().Marshal()) {
		t.Errorf("CA keys = %v", keys)
	}
}

func TestTLSFingerprintMismatch(t *testing.T) {
	ca := newTestCA(t)
	wrong := strings.Repeat("ab:", 31) + "ab"
	httpClient, err := NewHTTPClient(TLSOptions{Fingerprint: wrong})
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&Client{BaseURL: ca.server.URL, HTTPClient: httpClient}).Challenge(context.Background())
	if err == nil || !strings.Contains(err.Error(), "does not match the pinned "+strings.Repeat("ab", 32)) {
		t.Fatalf("error = %v, expected a fingerprint mismatch", err)
	}
}

func TestTLSCABundle(t *testing.T) {
	ca := newTestCA(t)
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.server.Certificate().Raw})
	if err := os.WriteFile(bundle, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	httpClient, err := NewHTTPClient(TLSOptions{CABundle: bundle})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Client{BaseURL: ca.server.URL, HTTPClient: httpClient}).Challenge(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Without the bundle the test server's certificate is unknown.
	plain, _ := NewHTTPClient(TLSOptions{})
	_, err = (&Client{BaseURL: ca.server.URL, HTTPClient: plain}).Challenge(context.Background())
	if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Fatalf("error = %v, expected an unknown authority", err)
	}
}

func TestTLSOptionsInvalid(t *testing.T) {
	tests := []struct {
		opts TLSOptions
		want string
	}{
		{TLSOptions{Fingerprint: "abcd"}, `CA TLS: invalid fingerprint "abcd", expected 64 hex digits of SHA-256`},
		{TLSOptions{Fingerprint: strings.Repeat("0", 64), CABundle: "/x"}, "CA TLS: set either a certificate fingerprint or a CA bundle, not both"},
	}
	for _, tt := range tests {
		_, err := NewHTTPClient(tt.opts)
		if err == nil || err.Error() != tt.want {
			t.Errorf("error = %v, expected %s", err, tt.want)
		}
	}
}

func TestParseFingerprintForms(t *testing.T) {
	want := strings.Repeat("0f", 32)
	for _, s := range []string{want, strings.ToUpper(want), "sha256:" + want, strings.TrimSuffix(strings.Repeat("0F:", 32), ":")} {
		fp, err := ParseFingerprint(s)
		if err != nil || hex.EncodeToString(fp) != want {
			t.Errorf("ParseFingerprint(%q) = %x, %v", s, fp, err)
		}
	}
}

func TestEnrollAPIError(t *testing.T) {
	ca := newTestCA(t)
	k, _ := hostKey(t)
	e := newEnroller(t, ca, k)
	e.JoinToken = "spent"
	ca.usedTokens["spent"] = true

	_, err := e.Enroll(context.Background())
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v, expected an APIError", err)
	}
	if apiErr.Status != 403 || apiErr.Code != "join_token_used" || !apiErr.Rejected() {
		t.Errorf("APIError = %+v", apiErr)
	}
	want := "enroll: CA returned HTTP 403 join_token_used: join token already used"
	if err.Error() != want {
		t.Errorf("error = %q, expected %q", err, want)
	}
}

func TestEnrollRejectsBadCertificates(t *testing.T) {
	other, _ := hostKey(t)
	_, otherCAKey, _ := ed25519.GenerateKey(rand.Reader)
	otherCA, _ := ssh.NewSignerFromKey(otherCAKey)
	now := time.Now()

	tests := []struct {
		name   string
		mutate func(*ssh.Certificate)
		want   error
	}{
		{"user certificate", func(c *ssh.Certificate) { c.CertType = ssh.UserCert }, errNotHostCert},
		{"other key", func(c *ssh.Certificate) { c.Key = other }, errWrongKey},
		{"other principals", func(c *ssh.Certificate) { c.ValidPrincipals = []string{"evil.example.com"} }, errPrincipals},
		{"extra principal", func(c *ssh.Certificate) { c.ValidPrincipals = append(c.ValidPrincipals, "b.example.com") }, errPrincipals},
		{"wildcard", func(c *ssh.Certificate) { c.ValidPrincipals = []string{"*.example.com"} }, errWildcardPrincipal},
		{"critical option", func(c *ssh.Certificate) { c.CriticalOptions = map[string]string{"force-command": "x"} }, errCriticalOptions},
		{"expired", func(c *ssh.Certificate) { c.ValidBefore = uint64(now.Add(-time.Second).Unix()) }, errExpired},
		{"not yet valid", func(c *ssh.Certificate) { c.ValidAfter = uint64(now.Add(time.Hour).Unix()) }, errNotYetValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca := newTestCA(t)
			ca.mutate = tt.mutate
			k, _ := hostKey(t)
			e := newEnroller(t, ca, k)
			e.Principals = []string{"a.example.com"}
			_, err := e.Enroll(context.Background())
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, expected %v", err, tt.want)
			}
		})
	}

	t.Run("untrusted CA", func(t *testing.T) {
		ca := newTestCA(t)
		k, _ := hostKey(t)
		e := newEnroller(t, ca, k)
		e.CAKeys = []ssh.PublicKey{otherCA.PublicKey()}
		if _, err := e.Enroll(context.Background()); !errors.Is(err, errUntrustedCA) {
			t.Fatalf("error = %v, expected %v", err, errUntrustedCA)
		}
	})
}

func TestCheckPrincipalsNone(t *testing.T) {
	// x/crypto/ssh refuses to sign such a certificate, so check directly.
	if err := checkPrincipals(nil, nil); !errors.Is(err, errPrincipals) {
		t.Fatalf("error = %v, expected %v", err, errPrincipals)
	}
}

func TestCheckCertificateBadSignature(t *testing.T) {
	ca := newTestCA(t)
	k, _ := hostKey(t)
	cert, err := ca.sign(k, []string{"a.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	cert.Serial++ // after signing: the signature no longer covers the body
	err = CheckCertificate(cert, CertCheck{HostKey: k, CAKeys: []ssh.PublicKey{ca.signer.PublicKey()}, Now: time.Now()})
	if err == nil || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("error = %v, expected a signature failure", err)
	}
}

func TestCheckCertificateValidityEdges(t *testing.T) {
	ca := newTestCA(t)
	k, _ := hostKey(t)
	cert, err := ca.sign(k, []string{"a.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	after, before := time.Unix(int64(cert.ValidAfter), 0), time.Unix(int64(cert.ValidBefore), 0)
	check := func(now time.Time) error {
		return CheckCertificate(cert, CertCheck{HostKey: k, CAKeys: []ssh.PublicKey{ca.signer.PublicKey()}, Now: now})
	}
	if err := check(after.Add(-time.Second)); !errors.Is(err, errNotYetValid) {
		t.Errorf("one second before valid-after: %v", err)
	}
	if err := check(after); err != nil {
		t.Errorf("at valid-after: %v", err)
	}
	if err := check(before.Add(-time.Second)); err != nil {
		t.Errorf("one second before valid-before: %v", err)
	}
	if err := check(before); !errors.Is(err, errExpired) {
		t.Errorf("at valid-before: %v", err)
	}
}

func TestEnrollCertificateCountMismatch(t *testing.T) {
	k, _ := hostKey(t)
	e := &Enroller{HostKeys: KeyList{k}}
	_, err := e.checkResponse(&wireResponseWithNoCerts, []ssh.PublicKey{k})
	want := "enroll: CA returned 0 certificates for 1 host keys"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, expected %s", err, want)
	}
}

func TestJoinTokenDigest(t *testing.T) {
	if JoinTokenDigest("") != nil {
		t.Errorf("digest of no token is not empty")
	}
	sum := sha256.Sum256([]byte("tok"))
	if !bytes.Equal(JoinTokenDigest("tok"), sum[:]) {
		t.Errorf("digest is not SHA-256 of the token")
	}
}

// BenchmarkEnrollLoopbackCA measures one enrollment against the loopback
// HTTPS test CA: challenge, simulated quote, request, and certificate checks.
func BenchmarkEnrollLoopbackCA(b *testing.B) {
	ca := newTestCA(b)
	k, _ := hostKey(b)
	e := newEnroller(b, ca, k)
	for b.Loop() {
		if _, err := e.Enroll(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
