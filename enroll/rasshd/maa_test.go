package rasshd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/binding"
	"github.com/rassh/rassh/verifier/local"
	"github.com/rassh/rassh/verifier/maa"
	"github.com/rassh/rassh/verifier/maa/maatest"
	"github.com/rassh/rassh/verifier/tdx"
	"github.com/rassh/rassh/verifier/tdx/tdxsim"
	"github.com/rassh/rassh/verifier/token"
)

// azureSimProvider gives Azure-shaped evidence from a simulated TD: runtime
// data whose user-data is the binding value, and a quote whose REPORTDATA is
// SHA-256 of that runtime data.
type azureSimProvider struct{ authority *tdxsim.Authority }

func (p azureSimProvider) Evidence(_ context.Context, v binding.Value) (verifier.Evidence, error) {
	runtime := fmt.Appendf(nil, `{"keys":[],"vm-configuration":{"secure-boot":true,"tpm-enabled":true,"vmUniqueId":"5E8B4A3E-1111-2222-3333-444455556666"},"user-data":%q}`,
		strings.ToUpper(hex.EncodeToString(v[:])))
	var reportData [64]byte
	digest := sha256.Sum256(runtime)
	copy(reportData[:], digest[:])
	quote, err := p.authority.Quote(reportData, tdxsim.TDConfig{})
	if err != nil {
		return verifier.Evidence{}, err
	}
	return verifier.Evidence{Kind: verifier.EvidenceAzureTDX, Quote: quote, RuntimeData: runtime}, nil
}

// maaSetup is an MAA emulator on loopback TLS and the agent's attester that
// sends a simulated TD's evidence to it. newMAASetup makes the emulator trust
// the TD's simulation root only when trustSimulation is set.
type maaSetup struct {
	server   *httptest.Server
	attester *MAAAttester
}

func newMAASetup(t *testing.T, trustSimulation bool) *maaSetup {
	t.Helper()
	authority, err := tdxsim.NewAuthority(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	quotes := &tdx.Verifier{}
	if trustSimulation {
		quotes.SimulationRoots = authority.RootPool()
	}
	emu, err := maatest.New(&local.Backend{Quotes: quotes})
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewTLSServer(emu)
	t.Cleanup(server.Close)

	client := &maa.Client{InstanceURL: server.URL, HTTPClient: server.Client(), MaxRetries: -1, Tokens: maaTokens(server)}
	return &maaSetup{server: server, attester: &MAAAttester{Provider: azureSimProvider{authority}, Client: client}}
}

// maaTokens verifies tokens as a rassh client does: the emulator pinned as an
// MAA issuer for *.example.com, keys from its /certs.
func maaTokens(server *httptest.Server) *token.Verifier {
	return &token.Verifier{
		Issuers:    []token.IssuerConfig{{Issuer: server.URL, JWKSURL: server.URL + "/certs", Kind: token.KindMAA, HostPatterns: []string{"*.example.com"}}},
		HTTPClient: server.Client(),
	}
}

// TestMAAAttesterFreshToken gets a fresh-mode token from the emulator and
// verifies it with a separate token verifier against the emulator's /certs.
func TestMAAAttesterFreshToken(t *testing.T) {
	s := newMAASetup(t, true)
	fresh := &Fresh{Attester: s.attester}
	v := binding.Connect(bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), []byte("host key blob"))

	raw, err := fresh.Token(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := maaTokens(s.server).Verify(context.Background(), raw, "h1.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(claims.UserData, v[:]) {
		t.Errorf("token user data %x, expected the binding value %x", []byte(claims.UserData), v[:])
	}
	if claims.Verifier != verifier.VerifierMAA {
		t.Errorf("verifier %q, expected %q", claims.Verifier, verifier.VerifierMAA)
	}
	if claims.Issuer != s.server.URL {
		t.Errorf("issuer %q, expected %q", claims.Issuer, s.server.URL)
	}
	if claims.Platform != verifier.PlatformAzureTDX {
		t.Errorf("platform %q, expected %q", claims.Platform, verifier.PlatformAzureTDX)
	}
	if claims.ComplianceStatus != "azure-compliant-cvm" {
		t.Errorf("compliance status %q, expected azure-compliant-cvm", claims.ComplianceStatus)
	}
	if !claims.Simulated {
		t.Error("token does not mark the simulated TD as simulated")
	}
	_, err = maaTokens(s.server).Verify(context.Background(), raw, "h1.other.org")
	var rejected *verifier.RejectedError
	if !errors.As(err, &rejected) || rejected.Check != token.CheckHostScope {
		t.Errorf("token for a host outside the issuer's patterns: error %v, expected check %q", err, token.CheckHostScope)
	}
}

// TestMAAAttesterEpochToken rotates an epoch with the emulator as token
// source and checks that the cached token carries the epoch binding.
func TestMAAAttesterEpochToken(t *testing.T) {
	s := newMAASetup(t, true)
	hostKeys := [][]byte{[]byte("host key blob")}
	e := &Epoch{Attester: s.attester, HostKeys: hostKeys, Logger: testLogger(t)}
	if err := e.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}

	answer, raw, err := e.answer(binding.Connect(make([]byte, 32), make([]byte, 32), hostKeys[0]))
	if err != nil {
		t.Fatal(err)
	}
	claims, err := maaTokens(s.server).Verify(context.Background(), raw, "h1.example.com")
	if err != nil {
		t.Fatal(err)
	}
	want := binding.Epoch(answer.KAtt, hostKeys, answer.NotAfter)
	if !bytes.Equal(claims.UserData, want[:]) {
		t.Errorf("token user data %x, expected the epoch binding %x", []byte(claims.UserData), want[:])
	}
}

// TestMAAAttesterRejected sends a simulated TD's evidence to an emulator
// that trusts no simulation root.
func TestMAAAttesterRejected(t *testing.T) {
	s := newMAASetup(t, false)
	_, err := s.attester.Attest(context.Background(), binding.Value{})
	want := "attest: rejected: maa attest: " + s.server.URL + " rejected the evidence: InvalidParameter: rejected: pck chain: verify PCK chain of "
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %v, expected the prefix %q", err, want)
	}
}
