package token

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestKeySetNEMatchesPEM parses the sharedeus2 key given as n/e and compares
// it with the same key as a PEM public key.
func TestKeySetNEMatchesPEM(t *testing.T) {
	keys, err := parseKeySet(readFile(t, "maa-ccf-sharedeus2-key/sharedeus2_jwks_reconstructed_n_e.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := keys["J0pAPdfXXHqWWimgrH853wMIdh5/fLe1z6uSXYPXCa0="]
	if !ok {
		t.Fatalf("kid not found among %d keys", len(keys))
	}
	block, _ := pem.Decode(readFile(t, "maa-ccf-sharedeus2-key/sharedeus2_signing_pubkey_J0pAPdf.pem"))
	want, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !sameKey(got.key, want) {
		t.Error("n/e key differs from the PEM key")
	}
}

func TestKeySetRecordedX5c(t *testing.T) {
	keys, err := parseKeySet(readFile(t, "maa-azure-sdk-python/sharedwus_certs_2022-10-07_signing_key_only.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := keys["XxRc2vLh1E5FrsNawnRH3PzuFgqg3q7NvCdnjoJHBGE="]; !ok || len(keys) != 1 {
		t.Fatalf("keys = %v, want the one recorded kid", keys)
	}
}

func TestKeySetSkipsUnusableKeys(t *testing.T) {
	set := `{"keys":[
		{"kty":"RSA","kid":"short","n":"AQAB","e":"AQAB"},
		{"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"},
		{"kty":"EC","crv":"P-521","kid":"p521","x":"AA","y":"AA"},
		{"kty":"oct","kid":"hmac","k":"c2VjcmV0"},
		{"kty":"OKP","crv":"Ed25519","kid":"dup","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
		{"kty":"OKP","crv":"Ed25519","kid":"dup","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
		{"kty":"OKP","crv":"Ed25519","kid":"good","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
	]}`
	keys, err := parseKeySet([]byte(set))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Fatalf("keys = %v, want only \"good\"", keys)
	}
	if _, ok := keys["good"]; !ok {
		t.Fatal("key \"good\" missing")
	}
}

func TestMatchHost(t *testing.T) {
	tests := []struct {
		patterns []string
		host     string
		want     bool
	}{
		{[]string{"*.example.com"}, "web.example.com", true},
		{[]string{"*.example.com"}, "a.b.example.com", true},
		{[]string{"*.example.com"}, "example.com", false},
		{[]string{"*.example.com"}, "web.example.com.evil.org", false},
		{[]string{"*.example.com"}, "WEB.Example.Com.", true},
		{[]string{"web-?.example.com"}, "web-1.example.com", true},
		{[]string{"web-?.example.com"}, "web-10.example.com", false},
		{[]string{"*.example.com", "!db.example.com"}, "db.example.com", false},
		{[]string{"!db.example.com", "*.example.com"}, "db.example.com", false},
		{[]string{"!db.example.com"}, "web.example.com", false},
		{[]string{"*"}, "anything", true},
		{nil, "web.example.com", false},
		{[]string{"10.0.0.*"}, "10.0.0.7", true},
		{[]string{"*a*a*a*a*a*b"}, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	}
	for _, tc := range tests {
		if got := matchHost(tc.patterns, tc.host); got != tc.want {
			t.Errorf("matchHost(%q, %q) = %v, want %v", tc.patterns, tc.host, got, tc.want)
		}
	}
}
