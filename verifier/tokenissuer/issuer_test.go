package tokenissuer_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/token"
	"github.com/rassh/rassh/verifier/tokenissuer"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func wantRejected(t *testing.T, err error, check string) {
	t.Helper()
	var rejected *verifier.RejectedError
	if !errors.As(err, &rejected) || rejected.Check != check {
		t.Fatalf("error = %v, want a RejectedError with check %q", err, check)
	}
}

// serveIssuer starts the token service on loopback, with a fresh key, and
// returns the issuer and a token verifier that trusts it.
func serveIssuer(t *testing.T, ev tokenissuer.EvidenceVerifier, opts tokenissuer.HandlerOptions) (*tokenissuer.Issuer, *httptest.Server, *token.Verifier) {
	t.Helper()
	server := httptest.NewUnstartedServer(nil)
	server.Start()
	t.Cleanup(server.Close)

	issuer, err := tokenissuer.Generate(filepath.Join(t.TempDir(), "token-key.pem"), server.URL)
	if err != nil {
		t.Fatal(err)
	}
	issuer.Now = func() time.Time { return testNow }
	server.Config.Handler = issuer.Handler(ev, opts)

	v := &token.Verifier{
		Issuers: []token.IssuerConfig{{Issuer: server.URL, Kind: token.KindRassh, HostPatterns: []string{"*.example.com"}}},
		Now:     func() time.Time { return testNow },
	}
	return issuer, server, v
}

func TestIssueVerifies(t *testing.T) {
	issuer, server, v := serveIssuer(t, nil, tokenissuer.HandlerOptions{})
	claims := &verifier.Claims{
		TEE: "tdx", Platform: verifier.PlatformTDX, QuoteVersion: 4,
		MRTD: bytes.Repeat([]byte{3}, 48), UserData: bytes.Repeat([]byte{4}, 64),
		Verifier: verifier.VerifierLocal, EvidenceDigest: bytes.Repeat([]byte{5}, 32),
	}
	raw, err := issuer.Issue(claims)
	if err != nil {
		t.Fatal(err)
	}

	got, err := v.Verify(context.Background(), raw, "web.example.com")
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.Verifier != verifier.VerifierRassh || got.Issuer != server.URL || !got.IssuedAt.Equal(testNow) {
		t.Errorf("Verifier %q Issuer %q IssuedAt %s", got.Verifier, got.Issuer, got.IssuedAt)
	}
	if !bytes.Equal(got.MRTD, claims.MRTD) || !bytes.Equal(got.UserData, claims.UserData) || !bytes.Equal(got.EvidenceDigest, claims.EvidenceDigest) {
		t.Errorf("MRTD %s UserData %s EvidenceDigest %s", got.MRTD, got.UserData, got.EvidenceDigest)
	}
	if got.QuoteVersion != 4 || got.Platform != verifier.PlatformTDX {
		t.Errorf("QuoteVersion %d Platform %q", got.QuoteVersion, got.Platform)
	}
}

func TestIssuedTokenLifetime(t *testing.T) {
	issuer, _, v := serveIssuer(t, nil, tokenissuer.HandlerOptions{})
	raw, err := issuer.Issue(&verifier.Claims{})
	if err != nil {
		t.Fatal(err)
	}
	v.Leeway = -1
	v.Now = func() time.Time { return testNow.Add(tokenissuer.DefaultLifetime - time.Second) }
	if _, err := v.Verify(context.Background(), raw, ""); err != nil {
		t.Fatalf("one second before exp: %v", err)
	}

	v2 := &token.Verifier{Issuers: v.Issuers, Leeway: -1, Now: func() time.Time { return testNow.Add(tokenissuer.DefaultLifetime) }}
	_, err = v2.Verify(context.Background(), raw, "")
	wantRejected(t, err, token.CheckExpired)
}

func TestIssuedTokenHostScope(t *testing.T) {
	issuer, _, v := serveIssuer(t, nil, tokenissuer.HandlerOptions{})
	raw, err := issuer.Issue(&verifier.Claims{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(context.Background(), raw, "web.example.org")
	wantRejected(t, err, token.CheckHostScope)
}

func TestKeySetAndThumbprint(t *testing.T) {
	issuer, server, _ := serveIssuer(t, nil, tokenissuer.HandlerOptions{})
	resp, err := http.Get(server.URL + "/v1/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("key set: %v, %d keys", err, len(set.Keys))
	}
	key := set.Keys[0]
	if key["kty"] != "EC" || key["crv"] != "P-256" || key["alg"] != "ES256" || key["use"] != "sig" || key["kid"] != issuer.Kid() {
		t.Errorf("key = %v", key)
	}

	// RFC 7638: SHA-256 over the required members, sorted, no whitespace.
	// encoding/json writes map keys sorted and compact.
	required, err := json.Marshal(map[string]string{"crv": key["crv"], "kty": key["kty"], "x": key["x"], "y": key["y"]})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(required)
	if want := base64.RawURLEncoding.EncodeToString(sum[:]); issuer.Kid() != want {
		t.Errorf("kid = %q, want the thumbprint %q", issuer.Kid(), want)
	}
}

func TestGenerateAndLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token-key.pem")
	generated, err := tokenissuer.Generate(path, "https://ca.example.com")
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v, want 0600", err, info.Mode().Perm())
	}
	loaded, err := tokenissuer.Load(path, "https://ca.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Kid() != generated.Kid() {
		t.Errorf("loaded kid %q, generated %q", loaded.Kid(), generated.Kid())
	}
	if _, err := tokenissuer.Generate(path, "https://ca.example.com"); err == nil {
		t.Error("Generate overwrote an existing key file")
	}
}

func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte, mode os.FileMode) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, mode); err != nil {
			t.Fatal(err)
		}
		return path
	}
	pkcs8 := func(key any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	tests := []struct {
		name, path, want string
	}{
		{"group readable", write("wide.pem", pkcs8(p256), 0o640), "mode 0640"},
		{"ed25519", write("ed.pem", pkcs8(edKey), 0o600), "must be ECDSA P-256"},
		{"p384", write("p384.pem", pkcs8(p384), 0o600), "must be ECDSA P-256"},
		{"openssh key", write("ssh.pem", []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"), 0o600), "PKCS#8"},
		{"missing", filepath.Join(dir, "absent.pem"), "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tokenissuer.Load(tc.path, "https://ca.example.com")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := tokenissuer.New(p384, "https://ca.example.com"); err == nil {
		t.Error("New accepted a P-384 key")
	}
	if _, err := tokenissuer.New(p256, "ca.example.com"); err == nil {
		t.Error("New accepted a relative issuer URL")
	}
}
