package client

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rassh/rassh/verifier/token"
)

func keySetServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"keys":[]}`)
	}))
	t.Cleanup(srv.Close)
	sum := sha256.Sum256(srv.Certificate().Raw)
	return srv, hex.EncodeToString(sum[:])
}

func pinnedIssuer(url, fingerprint string) IssuerConfig {
	return IssuerConfig{IssuerConfig: token.IssuerConfig{Issuer: url, JWKSURL: url + "/v1/jwks", Kind: token.KindRassh}, TLSFingerprint: fingerprint}
}

func TestKeySetHTTPClientPinned(t *testing.T) {
	srv, fingerprint := keySetServer(t)
	client, err := KeySetHTTPClient([]IssuerConfig{pinnedIssuer(srv.URL, "SHA256:"+strings.ToUpper(fingerprint))})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(srv.URL + "/v1/jwks")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != `{"keys":[]}` {
		t.Errorf("body %q", body)
	}
}

func TestKeySetHTTPClientWrongPin(t *testing.T) {
	srv, fingerprint := keySetServer(t)
	wrong := strings.Repeat("00", 32)
	client, err := KeySetHTTPClient([]IssuerConfig{pinnedIssuer(srv.URL, wrong)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.Get(srv.URL + "/v1/jwks")
	want := "key-set server " + srv.Listener.Addr().String() + ": certificate fingerprint " + fingerprint + " does not match the pinned tls_fingerprint " + wrong
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("err = %v, expected it to end with %s", err, want)
	}
}

// TestKeySetHTTPClientUnpinnedServer checks that a pin covers only its own
// server: another server with a self-signed certificate fails the system
// roots.
func TestKeySetHTTPClientUnpinnedServer(t *testing.T) {
	pinned, fingerprint := keySetServer(t)
	other, _ := keySetServer(t)
	client, err := KeySetHTTPClient([]IssuerConfig{pinnedIssuer(pinned.URL, fingerprint)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.Get(other.URL + "/v1/jwks")
	if err == nil || !strings.Contains(err.Error(), "tls: failed to verify certificate: x509: certificate signed by unknown authority") {
		t.Errorf("err = %v, expected an unknown-authority error", err)
	}
}

func TestKeySetHTTPClientNoPins(t *testing.T) {
	client, err := KeySetHTTPClient([]IssuerConfig{{IssuerConfig: token.IssuerConfig{Issuer: "https://ca.example.com", Kind: token.KindRassh}}})
	if err != nil || client != nil {
		t.Errorf("client %v, err %v; expected nil and nil", client, err)
	}
}

func TestKeySetPins(t *testing.T) {
	fp := strings.Repeat("ab", 32)
	pins, err := keySetPins([]IssuerConfig{
		{IssuerConfig: token.IssuerConfig{Issuer: "https://CA.example.com", Kind: token.KindRassh}, TLSFingerprint: fp},
		{IssuerConfig: token.IssuerConfig{Issuer: "https://b.example.com", JWKSURL: "https://[::1]:8443/v1/jwks", Kind: token.KindRassh}, TLSFingerprint: "ab:" + fp[2:]},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"ca.example.com:443", "[::1]:8443"} {
		if hex.EncodeToString(pins[addr]) != fp {
			t.Errorf("pin of %s is %x, expected %s", addr, pins[addr], fp)
		}
	}
	if len(pins) != 2 {
		t.Errorf("%d pins, expected 2", len(pins))
	}
}

func TestKeySetPinsErrors(t *testing.T) {
	fp := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name    string
		issuers []IssuerConfig
		err     string
	}{
		{"short fingerprint", []IssuerConfig{pinnedIssuer("https://ca.example.com", "abcd")},
			`issuer "https://ca.example.com": invalid tls_fingerprint "abcd", expected 64 hex digits of SHA-256`},
		{"http key set", []IssuerConfig{pinnedIssuer("http://ca.example.com", fp)},
			`issuer "http://ca.example.com": tls_fingerprint needs an https key-set URL, not "http://ca.example.com/v1/jwks"`},
		{"two pins for one server", []IssuerConfig{pinnedIssuer("https://ca.example.com", fp), pinnedIssuer("https://ca.example.com:443", strings.Repeat("cd", 32))},
			`issuer "https://ca.example.com:443": key-set server ca.example.com:443 is pinned to two different tls_fingerprint values`},
	} {
		_, err := keySetPins(tc.issuers)
		if err == nil || err.Error() != tc.err {
			t.Errorf("%s: err = %v, expected %s", tc.name, err, tc.err)
		}
	}
}

func TestLoadConfigInvalidFingerprint(t *testing.T) {
	_, err := LoadConfig(writeConfig(t, "issuers:\n  - issuer: https://ca.example.com\n    kind: rassh\n    tls_fingerprint: zz\n"), true)
	want := `issuer "https://ca.example.com": invalid tls_fingerprint "zz", expected 64 hex digits of SHA-256`
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("err = %v, expected it to end with %s", err, want)
	}
}
