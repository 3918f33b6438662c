package maatest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rassh/rassh/verifier/maa/maatest"
)

// FuzzAttestRequest posts arbitrary bodies to the emulator: each gets 200 or
// 400, and only well-formed requests reach the evidence verifier.
func FuzzAttestRequest(f *testing.F) {
	fake := &fakeEvidenceVerifier{}
	emu, err := maatest.New(fake)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(`{"quote":"` + b64("quote") + `","runtimeData":{"data":"` + b64(`{"user-data":"00"}`) + `","dataType":"JSON"}}`)
	f.Add(`{"quote":"","runtimeData":null}`)
	f.Add(`{"quote":"AA","runtimeData":{"data":"e30","dataType":"Binary"}}`)

	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/attest/TdxVm?api-version=2023-04-01-preview", strings.NewReader(body))
		rec := httptest.NewRecorder()
		emu.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d for body %q", rec.Code, body)
		}
	})
}
