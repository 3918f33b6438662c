package rasshd

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/enroll/tee"
	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/binding"
	"github.com/rassh/rassh/verifier/tdx"
	"github.com/rassh/rassh/verifier/tdx/tdxsim"
)

// tokenService is a stand-in for the CA's POST /v1/attest: it verifies the
// quote with the local TDX verifier and returns a token naming the quote's
// REPORTDATA.
func tokenService(t *testing.T, roots *tdx.Verifier) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/attest" {
			http.NotFound(w, r)
			return
		}
		var req wire.AttestRequest
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(wire.Error{Error: "invalid body", Code: "bad_request"})
			return
		}
		claims, err := roots.VerifyQuote(r.Context(), req.Evidence.Quote)
		if err != nil {
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(wire.Error{Error: "evidence rejected", Code: "evidence_rejected"})
			return
		}
		json.NewEncoder(w).Encode(wire.AttestResponse{Token: "verified-" + hex.EncodeToString(claims.ReportData)})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCAAttesterSimulatedTD(t *testing.T) {
	authority, err := tdxsim.NewAuthority(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := tokenService(t, &tdx.Verifier{SimulationRoots: authority.RootPool()})
	att := &CAAttester{Provider: &tee.Simulated{Authority: authority}, CAURL: srv.URL + "/", HTTPClient: srv.Client()}

	v := binding.Connect(bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), []byte("host key"))
	token, err := att.Attest(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	if token != "verified-"+hex.EncodeToString(v[:]) {
		t.Fatalf("token %q does not carry the binding value as REPORTDATA", token)
	}
}

func TestCAAttesterRejected(t *testing.T) {
	authority, err := tdxsim.NewAuthority(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The service trusts no simulation root, so it rejects the quote.
	srv := tokenService(t, &tdx.Verifier{})
	att := &CAAttester{Provider: &tee.Simulated{Authority: authority}, CAURL: srv.URL, HTTPClient: srv.Client()}
	_, err = att.Attest(context.Background(), binding.Value{})
	want := "attest: " + srv.URL + "/v1/attest returned 403 (evidence_rejected): evidence rejected"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

func TestCAAttesterOversizedAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"token":"` + strings.Repeat("a", maxAttestResponse) + `"}`))
	}))
	defer srv.Close()
	att := &CAAttester{Provider: staticProvider{}, CAURL: srv.URL}
	_, err := att.Attest(context.Background(), binding.Value{})
	want := "attest: response of " + srv.URL + "/v1/attest exceeds 65536 bytes"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

type staticProvider struct{}

func (staticProvider) Evidence(ctx context.Context, v binding.Value) (verifier.Evidence, error) {
	return verifier.Evidence{Kind: verifier.EvidenceTDXQuote, Quote: v[:]}, nil
}

type fakeMAA struct{ got verifier.Evidence }

func (m *fakeMAA) Attest(ctx context.Context, ev verifier.Evidence) (string, *verifier.Claims, error) {
	m.got = ev
	return "maa-token", &verifier.Claims{}, nil
}

func TestMAAAttesterPassesEvidence(t *testing.T) {
	maa := &fakeMAA{}
	att := &MAAAttester{Provider: staticProvider{}, Client: maa}
	v := binding.Value{7}
	token, err := att.Attest(context.Background(), v)
	if err != nil || token != "maa-token" {
		t.Fatalf("Attest = %q, %v", token, err)
	}
	if !bytes.Equal(maa.got.Quote, v[:]) {
		t.Fatal("MAA client did not get the provider's evidence")
	}
}
