package token

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rassh/rassh/verifier"
)

// FuzzVerify runs Verify on arbitrary strings against the recorded MAA key
// set, preloaded so that no network is used. Every input must either verify
// or be rejected with a RejectedError; nothing may panic.
func FuzzVerify(f *testing.F) {
	realToken := strings.TrimSpace(string(readFile(f, "maa-azure-sdk-python/sharedwus_sgx_token_2022-10-07.jwt")))
	keys, err := parseKeySet(readFile(f, "maa-azure-sdk-python/sharedwus_certs_2022-10-07_signing_key_only.json"))
	if err != nil {
		f.Fatal(err)
	}
	at := time.Date(2022, 10, 7, 13, 25, 0, 0, time.UTC)
	v := &Verifier{
		Issuers: []IssuerConfig{{Issuer: "https://sharedwus.wus.attest.azure.net", Kind: KindMAA, HostPatterns: []string{"*"}}},
		Now:     func() time.Time { return at },
	}
	if err := v.init(); err != nil {
		f.Fatal(err)
	}
	for _, state := range v.issuers {
		state.keys, state.fetchedAt, state.lastAttempt, state.diskLoaded = keys, at, at, true
	}

	parts := strings.Split(realToken, ".")
	f.Add(realToken)
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(parts[0] + ".." + parts[2])
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("..")

	f.Fuzz(func(t *testing.T, raw string) {
		claims, err := v.Verify(context.Background(), raw, "")
		if err == nil {
			if claims == nil || claims.Issuer != "https://sharedwus.wus.attest.azure.net" {
				t.Fatalf("accepted with claims %+v", claims)
			}
			return
		}
		var rejected *verifier.RejectedError
		if !errors.As(err, &rejected) {
			t.Fatalf("error %v is not a RejectedError", err)
		}
	})
}
