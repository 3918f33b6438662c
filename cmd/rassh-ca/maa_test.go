package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"sigs.k8s.io/yaml"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/ca"
	"github.com/rassh/rassh/ca/catest"
	"github.com/rassh/rassh/enroll"
	"github.com/rassh/rassh/store"
	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/binding"
	"github.com/rassh/rassh/verifier/maa/maatest"
	"github.com/rassh/rassh/verifier/tdx/tdxsim"
)

// azureTD is a simulated TD that gives evidence in the Azure shape: runtime
// data naming vmID with the binding value as user-data, and a quote whose
// REPORTDATA is SHA-256 of that runtime data. With tamper set, one byte of
// the quote's MRTD is flipped after signing.
type azureTD struct {
	sim    *tdxsim.Authority
	vmID   string
	tamper bool
}

func (a azureTD) Evidence(_ context.Context, v binding.Value) (verifier.Evidence, error) {
	runtime := fmt.Appendf(nil, `{"keys":[],"vm-configuration":{"console-enabled":false,"secure-boot":true,"tpm-enabled":true,"vmUniqueId":%q},"user-data":%q}`,
		strings.ToUpper(a.vmID), strings.ToUpper(hex.EncodeToString(v[:])))
	var reportData [64]byte
	digest := sha256.Sum256(runtime)
	copy(reportData[:], digest[:])
	quote, err := a.sim.Quote(reportData, tdxsim.TDConfig{})
	if err != nil {
		return verifier.Evidence{}, err
	}
	if a.tamper {
		quote[48+136] ^= 1 // the 48-byte header, then MRTD at offset 136 of the TD report body
	}
	return verifier.Evidence{Kind: verifier.EvidenceAzureTDX, Quote: quote, RuntimeData: runtime}, nil
}

// maaCA is a CA in MAA mode whose instance is a maatest emulator on
// loopback TLS, verifying quotes locally against the CA's simulation root.
type maaCA struct {
	*testCA
	emulator *httptest.Server
}

// startMAACA starts the emulator over TLS, makes the CA process trust the
// emulator's certificate through SSL_CERT_FILE (the CA reaches MAA with the
// system roots, which Go reads from that file), switches the CA to MAA mode
// and starts it.
func startMAACA(t *testing.T) *maaCA {
	t.Helper()
	c := initTestCA(t)
	emu, err := maatest.New(catest.Verifier(c.sim, nil))
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewTLSServer(emu)
	t.Cleanup(server.Close)

	roots := filepath.Join(t.TempDir(), "maa-root.pem")
	if err := os.WriteFile(roots, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", roots)
	setMAAMode(t, c.dir, server.URL)
	c.start()
	if want := `"verifier":"maa"`; !strings.Contains(c.log.String(), want) {
		t.Errorf("start log lacks %s:\n%s", want, c.log.String())
	}
	return &maaCA{testCA: c, emulator: server}
}

// setMAAMode sets verifier.mode maa with instanceURL and turns the token
// service off, which needs the local verifier.
func setMAAMode(t *testing.T, dir, instanceURL string) {
	t.Helper()
	path := filepath.Join(dir, configFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	v := cfg["verifier"].(map[string]any)
	v["mode"] = "maa"
	v["maa"].(map[string]any)["instance_url"] = instanceURL
	cfg["token_service"].(map[string]any)["enabled"] = false
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// enroller returns the agent's enrollment pipeline for one new host key,
// talking to the CA over TLS pinned to its self-signed certificate.
func (c *maaCA) enroller(p enroll.Provider, joinToken string) *enroll.Enroller {
	c.t.Helper()
	client := &enroll.Client{BaseURL: c.url, HTTPClient: c.pinnedClient()}
	caKeys, err := client.CAKeys(context.Background())
	if err != nil {
		c.t.Fatal(err)
	}
	_, signer := catest.HostKey()
	return &enroll.Enroller{CA: client, Provider: p, HostKeys: enroll.SignerList{signer}, CAKeys: caKeys, JoinToken: joinToken}
}

// lastAudit returns the newest audit event.
func (c *maaCA) lastAudit() wire.AuditEvent {
	c.t.Helper()
	var events []wire.AuditEvent
	if err := json.Unmarshal([]byte(c.admin("audit")), &events); err != nil {
		c.t.Fatal(err)
	}
	if len(events) == 0 {
		c.t.Fatal("audit log is empty")
	}
	return events[len(events)-1]
}

func attestationExtension(t *testing.T, cert *ssh.Certificate) *ca.Extension {
	t.Helper()
	ext, err := ca.ParseExtension([]byte(cert.Extensions[ca.ExtensionName]))
	if err != nil {
		t.Fatal(err)
	}
	return ext
}

// TestServeMAAEnrollWithJoinToken enrolls an Azure-shaped simulated TD with
// a join token through a CA in MAA mode. The emulator calls the TD
// azure-compliant-cvm, so the CA takes its vmUniqueId as the identity.
func TestServeMAAEnrollWithJoinToken(t *testing.T) {
	c := startMAACA(t)
	token := strings.TrimSpace(c.admin("join-token", "create", "--principals", "maa1.example.com", "--ttl", "10m"))
	const vmID = "0f3c9a6e-5d21-4b8e-9c7a-1e2d3c4b5a69"

	got, err := c.enroller(azureTD{sim: c.sim, vmID: vmID}, token).Enroll(context.Background())
	if err != nil {
		t.Fatalf("enroll: %v\n%s", err, c.log.String())
	}
	cert := got.Certificates[0]
	if len(cert.ValidPrincipals) != 1 || cert.ValidPrincipals[0] != "maa1.example.com" {
		t.Errorf("principals %q, expected [maa1.example.com]", cert.ValidPrincipals)
	}
	ext := attestationExtension(t, cert)
	if ext.Verifier != verifier.VerifierMAA {
		t.Errorf("extension verifier %q, expected %q", ext.Verifier, verifier.VerifierMAA)
	}
	if !ext.Simulated {
		t.Error("extension does not mark the simulated TD as simulated")
	}

	ev := c.lastAudit()
	if ev.Action != "enroll" || ev.Outcome != store.OutcomeAccepted {
		t.Errorf("audit event %+v, expected an accepted enrollment", ev)
	}
	if ev.Verifier != verifier.VerifierMAA {
		t.Errorf("audit verifier %q, expected %q", ev.Verifier, verifier.VerifierMAA)
	}
	if !ev.Simulated {
		t.Error("audit event does not mark the simulated TD as simulated")
	}
	if ev.Identity != vmID {
		t.Errorf("audit identity %q, expected the vmUniqueId %s", ev.Identity, vmID)
	}
	if ev.EvidenceSHA256 != ext.EvidenceSHA256 {
		t.Errorf("audit evidence digest %s, certificate extension %s", ev.EvidenceSHA256, ext.EvidenceSHA256)
	}
	if len(ev.Serials) != 1 || ev.Serials[0] != cert.Serial {
		t.Errorf("audit serials %v, expected [%d]", ev.Serials, cert.Serial)
	}
}

// TestServeMAAEnrollWithRegistration enrolls an Azure-shaped simulated TD
// without a join token: MAA calls it azure-compliant-cvm, so a registration
// of its vmUniqueId authorizes it.
func TestServeMAAEnrollWithRegistration(t *testing.T) {
	c := startMAACA(t)
	const vmID = "5e8b4a3e-1111-2222-3333-444455556666"
	c.admin("registration", "create", "--identity", vmID, "--principals", "azvm.example.com")

	got, err := c.enroller(azureTD{sim: c.sim, vmID: vmID}, "").Enroll(context.Background())
	if err != nil {
		t.Fatalf("enroll: %v\n%s", err, c.log.String())
	}
	if p := got.Certificates[0].ValidPrincipals; len(p) != 1 || p[0] != "azvm.example.com" {
		t.Errorf("principals %q, expected [azvm.example.com]", p)
	}
	if ev := c.lastAudit(); ev.Identity != vmID || ev.Verifier != verifier.VerifierMAA || ev.Outcome != store.OutcomeAccepted {
		t.Errorf("audit event %+v, expected identity %s accepted by maa", ev, vmID)
	}
}

// TestServeMAARejects checks the CA's responses when MAA rejects the evidence,
// when the evidence is not the kind MAA takes, and when MAA is down.
func TestServeMAARejects(t *testing.T) {
	c := startMAACA(t)
	const vmID = "0f3c9a6e-5d21-4b8e-9c7a-1e2d3c4b5a69"
	c.admin("registration", "create", "--identity", vmID, "--principals", "azvm.example.com")

	t.Run("tampered quote", func(t *testing.T) {
		_, err := c.enroller(azureTD{sim: c.sim, vmID: vmID, tamper: true}, "").Enroll(context.Background())
		expectAPIError(t, err, 403, ca.CodeEvidenceRejected, "evidence rejected: maa attest")
		expectAuditRejection(t, c, store.OutcomeRejected, ca.CodeEvidenceRejected, " rejected the evidence: InvalidParameter: rejected: quote signature: ")
	})
	t.Run("plain TDX quote", func(t *testing.T) {
		_, err := c.enroller(tdProvider{catest.NewTD(c.sim, 0x42)}, "").Enroll(context.Background())
		expectAPIError(t, err, 403, ca.CodeEvidenceRejected, "evidence rejected: maa attest")
		expectAuditRejection(t, c, store.OutcomeRejected, ca.CodeEvidenceRejected, `evidence kind "tdx-quote"`)
	})
	t.Run("MAA down", func(t *testing.T) {
		e := c.enroller(azureTD{sim: c.sim, vmID: vmID}, "")
		c.emulator.Close()
		_, err := e.Enroll(context.Background())
		expectAPIError(t, err, 503, ca.CodeUndecided, "evidence could not be verified now: try again later")
		expectAuditRejection(t, c, store.OutcomeError, ca.CodeUndecided, "giving up after 4 attempts")
	})
}

func expectAPIError(t *testing.T, err error, status int, code, message string) {
	t.Helper()
	var apiErr *enroll.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v, expected an API error %d %s", err, status, code)
	}
	if apiErr.Status != status || apiErr.Code != code || apiErr.Message != message {
		t.Errorf("API error %d %s %q, expected %d %s %q", apiErr.Status, apiErr.Code, apiErr.Message, status, code, message)
	}
}

func expectAuditRejection(t *testing.T, c *maaCA, outcome, code, reason string) {
	t.Helper()
	ev := c.lastAudit()
	if ev.Action != "enroll" || ev.Outcome != outcome || ev.Code != code || ev.Identity != "" || len(ev.Serials) != 0 {
		t.Errorf("audit event %+v, expected outcome %s code %s", ev, outcome, code)
	}
	if !strings.Contains(ev.Reason, reason) {
		t.Errorf("audit reason %q lacks %q", ev.Reason, reason)
	}
}
