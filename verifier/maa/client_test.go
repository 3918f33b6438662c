package maa_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/local"
	"github.com/rassh/rassh/verifier/maa"
	"github.com/rassh/rassh/verifier/maa/maatest"
	"github.com/rassh/rassh/verifier/tdx"
	"github.com/rassh/rassh/verifier/tdx/tdxsim"
	"github.com/rassh/rassh/verifier/token"
)

// azureTime lies inside the PCK certificate validity of the real Azure
// quote in testdata/ita-aztdx (2024-05-17 to 2031-05-17).
var azureTime = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func readTestdata(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// realAzureEvidence is the quote and runtime data of a real Azure TDX CVM.
func realAzureEvidence(t *testing.T) verifier.Evidence {
	return verifier.Evidence{
		Kind:        verifier.EvidenceAzureTDX,
		Quote:       readTestdata(t, "ita-aztdx/azure_td_quote.bin"),
		RuntimeData: readTestdata(t, "ita-aztdx/azure_runtime_data.json"),
	}
}

// emulator starts the MAA emulator on loopback, verifying quotes with the
// local backend at azureTime, and returns a client pinned to it.
func emulator(t *testing.T, quotes *tdx.Verifier, wrap func(http.Handler) http.Handler) (*maa.Client, *maatest.Server) {
	t.Helper()
	emu, err := maatest.New(&local.Backend{Quotes: quotes})
	if err != nil {
		t.Fatal(err)
	}
	emu.Now = func() time.Time { return azureTime }
	var handler http.Handler = emu
	if wrap != nil {
		handler = wrap(emu)
	}
	server := httptest.NewServer(handler)
	t.Cleanup(server.Close)

	tokens := &token.Verifier{
		Issuers: []token.IssuerConfig{{Issuer: server.URL, Kind: token.KindMAA}},
		Now:     func() time.Time { return azureTime },
	}
	return &maa.Client{InstanceURL: server.URL, Tokens: tokens}, emu
}

func realQuoteVerifier() *tdx.Verifier {
	return &tdx.Verifier{Now: func() time.Time { return azureTime }}
}

func TestAttestRealAzureEvidence(t *testing.T) {
	client, _ := emulator(t, realQuoteVerifier(), nil)
	ev := realAzureEvidence(t)

	raw, c, err := client.Attest(context.Background(), ev)
	if err != nil {
		t.Fatalf("Attest: %v", err)
	}
	if strings.Count(raw, ".") != 2 {
		t.Errorf("token %q is not a JWS", raw)
	}

	wantMRTD := "bb379f8e734a755832509f61403f99db2258a70a01e1172a499d6d364101b0675455b4e372a35c1f006541f2de0d7154"
	if c.MRTD.String() != wantMRTD {
		t.Errorf("MRTD = %s, want %s", c.MRTD, wantMRTD)
	}
	for i, rtmr := range c.RTMRs {
		if !bytes.Equal(rtmr, make([]byte, 48)) {
			t.Errorf("RTMR%d = %s, want zero", i, rtmr)
		}
	}
	emptyHash := sha512.Sum512(nil)
	if !bytes.Equal(c.UserData, emptyHash[:]) {
		t.Errorf("UserData = %s, want SHA-512 of the empty string", c.UserData)
	}
	runtimeHash := sha256.Sum256(ev.RuntimeData)
	if !bytes.Equal(c.ReportData, append(runtimeHash[:], make([]byte, 32)...)) {
		t.Errorf("ReportData = %s, want SHA-256 of the runtime data and 32 zero bytes", c.ReportData)
	}
	wantVM := verifier.VMConfiguration{ConsoleEnabled: true, SecureBoot: true, TPMEnabled: true, VMUniqueID: "D6DA8E8D-5410-4716-A0C7-2FA91EA4A866"}
	if c.VMConfiguration == nil || *c.VMConfiguration != wantVM || c.VMUniqueID != wantVM.VMUniqueID {
		t.Errorf("VMConfiguration = %+v, VMUniqueID %q, want %+v", c.VMConfiguration, c.VMUniqueID, wantVM)
	}
	if !bytes.Equal(c.RuntimeData, bytes.TrimSpace(ev.RuntimeData)) {
		t.Errorf("RuntimeData = %s, want the posted runtime data", c.RuntimeData)
	}
	wantDigest := sha256.Sum256(append(bytes.Clone(ev.Quote), ev.RuntimeData...))
	if !bytes.Equal(c.EvidenceDigest, wantDigest[:]) {
		t.Errorf("EvidenceDigest = %s, want %x", c.EvidenceDigest, wantDigest)
	}

	strs := []struct{ name, got, want string }{
		{"Verifier", c.Verifier, verifier.VerifierMAA},
		{"Issuer", c.Issuer, client.InstanceURL},
		{"TEE", c.TEE, "tdx"},
		{"Platform", c.Platform, verifier.PlatformAzureTDX},
		{"AttestationType", c.AttestationType, "tdxvm"},
		{"ComplianceStatus", c.ComplianceStatus, "azure-compliant-cvm"},
	}
	for _, s := range strs {
		if s.got != s.want {
			t.Errorf("%s = %q, want %q", s.name, s.got, s.want)
		}
	}
	if c.Debug || c.Simulated || c.TCB != nil {
		t.Errorf("Debug %v, Simulated %v, TCB %+v; want false, false, nil (no collateral)", c.Debug, c.Simulated, c.TCB)
	}
	if !c.IssuedAt.Equal(azureTime) {
		t.Errorf("IssuedAt = %s, want %s", c.IssuedAt, azureTime)
	}
}

func TestAttestTamperedQuoteRejectedByMAA(t *testing.T) {
	client, _ := emulator(t, realQuoteVerifier(), nil)
	ev := realAzureEvidence(t)
	ev.Quote = bytes.Clone(ev.Quote)
	ev.Quote[len(ev.Quote)/2] ^= 1

	_, _, err := client.Attest(context.Background(), ev)
	var rejected *verifier.RejectedError
	if !errors.As(err, &rejected) || rejected.Check != maa.CheckAttest {
		t.Fatalf("error = %v, want a RejectedError with check %q", err, maa.CheckAttest)
	}
	if !strings.Contains(err.Error(), "InvalidParameter: rejected:") {
		t.Errorf("error %q does not carry MAA's message", err)
	}
}

func TestAttestTamperedRuntimeData(t *testing.T) {
	client, _ := emulator(t, realQuoteVerifier(), nil)
	ev := realAzureEvidence(t)
	ev.RuntimeData = bytes.Replace(ev.RuntimeData, []byte(`"secure-boot":true`), []byte(`"secure-boot":false`), 1)

	_, _, err := client.Attest(context.Background(), ev)
	var rejected *verifier.RejectedError
	if !errors.As(err, &rejected) || rejected.Check != maa.CheckAttest {
		t.Fatalf("error = %v, want a RejectedError with check %q", err, maa.CheckAttest)
	}
}

// TestAttestSimulatedTD runs a simulated Azure TD through the emulator: the
// token marks the claims as simulated.
func TestAttestSimulatedTD(t *testing.T) {
	authority, err := tdxsim.NewAuthority(azureTime.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	userData := bytes.Repeat([]byte{0x5a}, 64)
	runtimeData := []byte(fmt.Sprintf(`{"keys":[],"vm-configuration":{"console-enabled":false,"secure-boot":true,"tpm-enabled":true,"vmUniqueId":"0000-sim"},"user-data":"%s"}`,
		strings.ToUpper(hex.EncodeToString(userData))))
	var reportData [64]byte
	sum := sha256.Sum256(runtimeData)
	copy(reportData[:], sum[:])
	quote, err := authority.Quote(reportData, tdxsim.TDConfig{MRTD: bytes.Repeat([]byte{1}, 48)})
	if err != nil {
		t.Fatal(err)
	}

	quotes := &tdx.Verifier{SimulationRoots: authority.RootPool(), Now: func() time.Time { return azureTime }}
	client, _ := emulator(t, quotes, nil)
	_, c, err := client.Attest(context.Background(), verifier.Evidence{Kind: verifier.EvidenceAzureTDX, Quote: quote, RuntimeData: runtimeData})
	if err != nil {
		t.Fatalf("Attest: %v", err)
	}
	if !c.Simulated {
		t.Error("Simulated = false, want true")
	}
	if !bytes.Equal(c.UserData, userData) || c.VMUniqueID != "0000-sim" {
		t.Errorf("UserData %s VMUniqueID %q", c.UserData, c.VMUniqueID)
	}
}

func TestAttestAfterKeyRotation(t *testing.T) {
	client, emu := emulator(t, realQuoteVerifier(), nil)
	if _, _, err := client.Attest(context.Background(), realAzureEvidence(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := emu.RotateKey(); err != nil {
		t.Fatal(err)
	}
	tokens := client.Tokens.(*token.Verifier)
	tokens.Now = func() time.Time { return azureTime.Add(time.Minute) }
	if _, _, err := client.Attest(context.Background(), realAzureEvidence(t)); err != nil {
		t.Fatalf("Attest after rotation: %v", err)
	}
}

func TestAttestWrongEvidenceKind(t *testing.T) {
	client, _ := emulator(t, realQuoteVerifier(), nil)
	ev := realAzureEvidence(t)
	ev.Kind = verifier.EvidenceTDXQuote
	_, _, err := client.Attest(context.Background(), ev)
	var rejected *verifier.RejectedError
	if !errors.As(err, &rejected) || rejected.Check != maa.CheckAttest {
		t.Fatalf("error = %v, want a RejectedError with check %q", err, maa.CheckAttest)
	}
}

// failFirst responds to the first n attest requests with status and then passes
// them on, counting all of them. Other requests (/certs) pass uncounted.
func failFirst(n int32, status int, retryAfter string, count *atomic.Int32) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && count.Add(1) <= n {
				if retryAfter != "" {
					w.Header().Set("Retry-After", retryAfter)
				}
				http.Error(w, `{"error":{"code":"Busy","message":"try later"}}`, status)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestAttestRetriesThenSucceeds(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusInternalServerError} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			var count atomic.Int32
			client, _ := emulator(t, realQuoteVerifier(), failFirst(2, status, "", &count))
			client.MaxRetryWait = time.Millisecond
			if _, _, err := client.Attest(context.Background(), realAzureEvidence(t)); err != nil {
				t.Fatalf("Attest: %v", err)
			}
			if got := count.Load(); got != 3 {
				t.Errorf("requests = %d, want 3", got)
			}
		})
	}
}

func TestAttestRetriesExhausted(t *testing.T) {
	var count atomic.Int32
	client, _ := emulator(t, realQuoteVerifier(), failFirst(100, http.StatusServiceUnavailable, "1", &count))
	client.MaxRetryWait = time.Millisecond
	_, _, err := client.Attest(context.Background(), realAzureEvidence(t))
	if !verifier.IsUndecided(err) {
		t.Fatalf("error = %v, want an UndecidedError", err)
	}
	if got := count.Load(); got != maa.DefaultMaxRetries+1 {
		t.Errorf("requests = %d, want %d", got, maa.DefaultMaxRetries+1)
	}

	count.Store(0)
	client.MaxRetries = -1
	_, _, err = client.Attest(context.Background(), realAzureEvidence(t))
	if !verifier.IsUndecided(err) || count.Load() != 1 {
		t.Fatalf("no retries: error %v after %d requests, want an UndecidedError after 1", err, count.Load())
	}
}

func TestAttestRetryAfterBeyondDeadline(t *testing.T) {
	var count atomic.Int32
	client, _ := emulator(t, realQuoteVerifier(), failFirst(100, http.StatusTooManyRequests, "5", &count))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _, err := client.Attest(ctx, realAzureEvidence(t))
	if !verifier.IsUndecided(err) {
		t.Fatalf("error = %v, want an UndecidedError", err)
	}
	if got := count.Load(); got != 1 {
		t.Errorf("requests = %d, want 1 (the next retry would pass the deadline)", got)
	}
}

func TestAttestDeadline(t *testing.T) {
	release := make(chan struct{})
	hang := func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		})
	}
	client, _ := emulator(t, realQuoteVerifier(), hang)
	t.Cleanup(func() { close(release) })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, _, err := client.Attest(ctx, realAzureEvidence(t))
	if !verifier.IsUndecided(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want an UndecidedError wrapping the deadline", err)
	}
}

func TestAttestOversizedAnswer(t *testing.T) {
	huge := func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"token":"` + strings.Repeat("A", 300<<10) + `"}`))
		})
	}
	client, _ := emulator(t, realQuoteVerifier(), huge)
	_, _, err := client.Attest(context.Background(), realAzureEvidence(t))
	if !verifier.IsUndecided(err) {
		t.Fatalf("error = %v, want an UndecidedError", err)
	}
}

func TestAttestForbiddenIsUndecided(t *testing.T) {
	var count atomic.Int32
	client, _ := emulator(t, realQuoteVerifier(), failFirst(100, http.StatusUnauthorized, "", &count))
	_, _, err := client.Attest(context.Background(), realAzureEvidence(t))
	if !verifier.IsUndecided(err) || count.Load() != 1 {
		t.Fatalf("error %v after %d requests, want an UndecidedError after 1", err, count.Load())
	}
}
