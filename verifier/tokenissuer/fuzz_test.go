package tokenissuer_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/tokenissuer"
)

// FuzzAttest posts arbitrary bodies to POST /v1/attest. The verifier
// rejects all evidence, so every body gets 400, 413 or 422 and no token.
func FuzzAttest(f *testing.F) {
	issuer, err := tokenissuer.Generate(f.TempDir()+"/key.pem", "https://ca.example.com")
	if err != nil {
		f.Fatal(err)
	}
	handler := issuer.Handler(fakeVerifier{verifier.Reject("quote", "fuzz")}, tokenissuer.HandlerOptions{Rate: 1e9, Burst: 1 << 30, RatePerSource: 1e9, BurstPerSource: 1 << 30, Logger: quietLog})
	f.Add(`{"evidence":{"kind":"tdx-quote","quote":"AQ=="}}`)
	f.Add(`{"evidence":{"kind":"azure-tdx","quote":"AQ==","runtime_data":"e30="}}`)
	f.Add(`{"evidence":null}`)

	f.Fuzz(func(t *testing.T, body string) {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/attest", strings.NewReader(body)))
		switch rec.Code {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		default:
			t.Fatalf("status %d for body %q", rec.Code, body)
		}
	})
}
