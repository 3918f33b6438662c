package api

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/ca"
	"github.com/rassh/rassh/ca/catest"
	"github.com/rassh/rassh/store"
)

func TestEnrollWithJoinTokenAndSSHKeygen(t *testing.T) {
	h := newHarness(t)
	token := h.joinToken(time.Hour, "web1.example.com")
	td := catest.NewTD(h.sim, 0x77)
	k := hostKey()
	status, body := h.do("POST", "/v1/enrollments", h.request(td, []ssh.PublicKey{k}, nil, token), "")
	if status != http.StatusOK {
		t.Fatalf("enroll: %d %s", status, body)
	}
	var resp wire.EnrollmentResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.HostID != td.Identity() || !slices.Equal(resp.Principals, []string{"web1.example.com"}) {
		t.Errorf("response host %q principals %q", resp.HostID, resp.Principals)
	}
	if len(resp.CAKeys) != 1 || resp.CAKeys[0] != ca.AuthorizedLine(h.api.CAKey) {
		t.Errorf("CA keys %q", resp.CAKeys)
	}

	certPath := filepath.Join(t.TempDir(), "ssh_host_ed25519_key-cert.pub")
	os.WriteFile(certPath, []byte(resp.Certificates[0]+"\n"), 0o644)
	cmd := exec.Command("ssh-keygen", "-L", "-f", certPath)
	cmd.Env = append(os.Environ(), "TZ=UTC") // ssh-keygen prints validity in local time
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -L: %v\n%s", err, out)
	}
	text := string(out)
	cert := parseCertLine(t, resp.Certificates[0])
	for _, want := range []string{
		"Type: ssh-ed25519-cert-v01@openssh.com host certificate",
		"Signing CA: ED25519 " + ssh.FingerprintSHA256(h.api.CAKey),
		`Key ID: "rassh:host=web1.example.com:enrollment=`,
		"Serial: " + itoa(cert.Serial),
		"Valid: from 2026-03-01T11:55:00 to 2026-03-01T20:00:00",
		"Principals: \n                web1.example.com\n",
		"Critical Options: (none)",
		"Extensions: \n                rassh-attestation@rassh",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("ssh-keygen -L output lacks %q:\n%s", want, text)
		}
	}
}

func itoa(n uint64) string { b, _ := json.Marshal(n); return string(b) }

func parseCertLine(t *testing.T, line string) *ssh.Certificate {
	t.Helper()
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return k.(*ssh.Certificate)
}

func TestAdminRoutesNeedToken(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		token, message string
	}{
		{"", "admin bearer token required"},
		{"rassh-admin-wrong", "admin token invalid"},
	} {
		for _, route := range []string{"/v1/registrations", "/v1/join-tokens", "/v1/hosts", "/v1/certificates", "/v1/audit"} {
			status, body := h.do("GET", route, nil, tc.token)
			var e wire.Error
			json.Unmarshal(body, &e)
			if status != http.StatusUnauthorized || e.Code != "unauthorized" || e.Error != tc.message {
				t.Errorf("GET %s with token %q: %d %+v", route, tc.token, status, e)
			}
		}
	}
	if status, _ := h.do("GET", "/v1/hosts", nil, h.admin); status != http.StatusOK {
		t.Errorf("GET /v1/hosts with admin token: %d", status)
	}
}

func TestAdminRejectsBadGrants(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		path    string
		body    any
		message string
	}{
		{"/v1/registrations", wire.RegistrationRequest{Identity: "5e8b4a3e-1111-2222-3333-444455556666", Principals: []string{"*"}}, `invalid principal "*": character '*' not allowed (only letters, digits and -._:)`},
		{"/v1/registrations", wire.RegistrationRequest{Identity: "5e8b4a3e-1111-2222-3333-444455556666", Principals: []string{"host.other.org"}}, `principal "host.other.org" matches none of the CA's host patterns ["*.example.com"]`},
		{"/v1/registrations", wire.RegistrationRequest{Identity: "join:abc", Principals: []string{"h.example.com"}}, `invalid identity "join:abc": join: identities come from join tokens, not registrations`},
		{"/v1/join-tokens", wire.JoinTokenRequest{}, "invalid principals: the list is empty"},
		{"/v1/join-tokens", wire.JoinTokenRequest{Principals: []string{"h.example.com"}, TTLSeconds: -1}, "ttl_seconds -1 out of range: 1 to 2592000"},
		// Seconds whose nanoseconds overflow int64 and wrap to about 59 s and to 0.
		{"/v1/join-tokens", wire.JoinTokenRequest{Principals: []string{"h.example.com"}, TTLSeconds: 18446744133}, "ttl_seconds 18446744133 out of range: 1 to 2592000"},
		{"/v1/join-tokens", wire.JoinTokenRequest{Principals: []string{"h.example.com"}, TTLSeconds: 1 << 62}, "ttl_seconds 4611686018427387904 out of range: 1 to 2592000"},
	} {
		status, body := h.do("POST", tc.path, tc.body, h.admin)
		var e wire.Error
		json.Unmarshal(body, &e)
		if status != http.StatusBadRequest || e.Error != tc.message {
			t.Errorf("POST %s %+v: %d %+v, want 400 %q", tc.path, tc.body, status, e, tc.message)
		}
	}
}

func TestJoinTokenListedWithoutSecret(t *testing.T) {
	h := newHarness(t)
	token := h.joinToken(2*time.Hour, "web1.example.com")
	status, body := h.do("GET", "/v1/join-tokens", nil, h.admin)
	if status != http.StatusOK || strings.Contains(string(body), token) {
		t.Fatalf("GET /v1/join-tokens: %d, token string present: %v", status, strings.Contains(string(body), token))
	}
	var list []wire.JoinToken
	json.Unmarshal(body, &list)
	if len(list) != 1 || list[0].ID != store.TokenID(token) || !list[0].ExpiresAt.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("join tokens %+v", list)
	}
	if strings.Contains(h.logBuf.String(), token) || strings.Contains(h.logBuf.String(), h.admin) {
		t.Errorf("log contains a token:\n%s", h.logBuf.String())
	}
}

func TestCAKnownHostsLine(t *testing.T) {
	h := newHarness(t)
	want := "@cert-authority *.example.com " + ca.AuthorizedLine(h.api.CAKey)

	req, _ := http.NewRequest("GET", h.srv.URL+"/v1/ca", nil)
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, _ := resp.Body.Read(buf)
	resp.Body.Close()
	if got := string(buf[:n]); got != want+"\n" {
		t.Errorf("text/plain /v1/ca = %q, want %q", got, want+"\n")
	}

	status, body := h.do("GET", "/v1/ca", nil, "")
	var ca wire.CAResponse
	json.Unmarshal(body, &ca)
	if status != http.StatusOK || len(ca.KnownHosts) != 1 || ca.KnownHosts[0] != want {
		t.Errorf("JSON /v1/ca: %d %+v", status, ca)
	}
}

func TestRevokeHostAndKRL(t *testing.T) {
	h := newHarness(t)
	td := catest.NewTD(h.sim, 0x11)
	h.register(td.Identity(), "host1.example.com")
	k := hostKey()
	status, body := h.do("POST", "/v1/enrollments", h.request(td, []ssh.PublicKey{k}, nil, ""), "")
	if status != http.StatusOK {
		t.Fatalf("enroll: %d %s", status, body)
	}
	var resp wire.EnrollmentResponse
	json.Unmarshal(body, &resp)

	status, body = h.do("POST", "/v1/revocations", wire.RevocationRequest{Identity: td.Identity(), Reason: "decommissioned"}, h.admin)
	if status != http.StatusOK {
		t.Fatalf("revoke: %d %s", status, body)
	}
	if ev := h.lastEvent(); ev.Action != "revoke" || ev.Identity != td.Identity() || ev.Admin != store.TokenID(h.admin) {
		t.Errorf("audit event %+v", ev)
	}

	status, krl := h.do("GET", "/v1/krl", nil, "")
	if status != http.StatusOK {
		t.Fatalf("GET /v1/krl: %d", status)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "krl"), krl, 0o644)
	os.WriteFile(filepath.Join(dir, "cert.pub"), []byte(resp.Certificates[0]+"\n"), 0o644)
	out, err := exec.Command("ssh-keygen", "-Q", "-f", filepath.Join(dir, "krl"), filepath.Join(dir, "cert.pub")).CombinedOutput()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 || !strings.Contains(string(out), "REVOKED") {
		t.Errorf("ssh-keygen -Q on revoked certificate: %v %s", err, out)
	}

	// The revoked key is not certified again, even for its own identity
	// once an admin allows the identity again.
	h.register(td.Identity(), "host1.example.com")
	status, body = h.do("POST", "/v1/enrollments", h.request(td, []ssh.PublicKey{k}, nil, ""), "")
	if status != http.StatusForbidden || !strings.Contains(string(body), "host_key_revoked") {
		t.Errorf("re-enrollment of revoked key: %d %s", status, body)
	}
}

func TestRevokeSerialAndHostKey(t *testing.T) {
	h := newHarness(t)
	td := catest.NewTD(h.sim, 0x12)
	h.register(td.Identity(), "host1.example.com")
	k := hostKey()
	status, body := h.do("POST", "/v1/enrollments", h.request(td, []ssh.PublicKey{k}, nil, ""), "")
	if status != http.StatusOK {
		t.Fatalf("enroll: %d %s", status, body)
	}
	var enrolled wire.EnrollmentResponse
	json.Unmarshal(body, &enrolled)
	parsed, _, _, _, err := ssh.ParseAuthorizedKey([]byte(enrolled.Certificates[0]))
	if err != nil {
		t.Fatal(err)
	}
	cert := parsed.(*ssh.Certificate)

	status, body = h.do("POST", "/v1/revocations", wire.RevocationRequest{Serial: cert.Serial, Reason: "rotated"}, h.admin)
	if status != http.StatusOK {
		t.Fatalf("revoke serial: %d %s", status, body)
	}
	var resp wire.RevocationResponse
	json.Unmarshal(body, &resp)
	if !slices.Equal(resp.Serials, []uint64{cert.Serial}) || len(resp.HostKeys) != 0 {
		t.Errorf("revoke serial response %+v, want serials [%d] and no host keys", resp, cert.Serial)
	}
	if ev := h.lastEvent(); ev.Action != "revoke" || !slices.Equal(ev.Serials, []uint64{cert.Serial}) || ev.Reason != "rotated" {
		t.Errorf("revoke serial audit event %+v", ev)
	}

	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
	status, body = h.do("POST", "/v1/revocations", wire.RevocationRequest{HostKey: line + " comment", Reason: "leaked"}, h.admin)
	if status != http.StatusOK {
		t.Fatalf("revoke host key: %d %s", status, body)
	}
	resp = wire.RevocationResponse{}
	json.Unmarshal(body, &resp)
	if len(resp.Serials) != 0 || !slices.Equal(resp.HostKeys, []string{line}) {
		t.Errorf("revoke host key response %+v, want host keys [%s] and no serials", resp, line)
	}
	if ev := h.lastEvent(); ev.Action != "revoke" || ev.Reason != "leaked" || ev.Outcome != store.OutcomeAccepted {
		t.Errorf("revoke host key audit event %+v", ev)
	}

	status, body = h.do("POST", "/v1/revocations", wire.RevocationRequest{HostKey: enrolled.Certificates[0]}, h.admin)
	want := `"invalid host_key: is a certificate, expected a plain public key"`
	if status != http.StatusBadRequest || !strings.Contains(string(body), want) {
		t.Errorf("revoke a certificate as host key: %d %s, want 400 with %s", status, body, want)
	}
}

func TestMetricsCountEnrollments(t *testing.T) {
	h := newHarness(t)
	h.do("POST", "/v1/enrollments", []byte(`{`), "")
	_, body := h.do("GET", "/metrics", nil, "")
	for _, want := range []string{
		"# TYPE rassh_enrollments_total counter\n",
		`rassh_enrollments_total{outcome="rejected",code="invalid_json"} 1`,
		`rassh_http_requests_total{method="POST",route="/v1/enrollments",status="400"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}

func TestOneLogLinePerRequest(t *testing.T) {
	h := newHarness(t)
	h.do("GET", "/healthz", nil, "")
	h.do("GET", "/readyz", nil, "")
	h.do("POST", "/v1/enrollments", []byte(`{"x":1}`), "")
	lines := strings.Split(strings.TrimSpace(h.logBuf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want 3:\n%s", len(lines), h.logBuf.String())
	}
	var last map[string]any
	json.Unmarshal([]byte(lines[2]), &last)
	if last["status"] != 400.0 || last["code"] != "invalid_json" || last["route"] != "/v1/enrollments" || last["error"] != `json: unknown field "x"` {
		t.Errorf("log line %s", lines[2])
	}
}

// Clients choose the method token freely, so each made-up method must not
// add a metric series that lives for as long as the server runs.
func TestMetricsBoundMethodLabel(t *testing.T) {
	h := newHarness(t)
	for i := range 5 {
		h.do("X-METHOD-"+itoa(uint64(i)), "/healthz", nil, "")
	}
	_, body := h.do("GET", "/metrics", nil, "")
	text := string(body)
	if want := `rassh_http_requests_total{method="other",route="unmatched",status="405"} 5`; !strings.Contains(text, want) {
		t.Errorf("metrics lack %q:\n%s", want, text)
	}
	if strings.Contains(text, "X-METHOD-") {
		t.Errorf("metrics keep a client-chosen method:\n%s", text)
	}
}

func TestRevokedIdentityStaysBlocked(t *testing.T) {
	h := newHarness(t)
	td := catest.NewTD(h.sim, 0x11)
	h.register(td.Identity(), "host1.example.com")
	if status, body := h.do("POST", "/v1/enrollments", h.request(td, []ssh.PublicKey{hostKey()}, nil, ""), ""); status != http.StatusOK {
		t.Fatalf("enroll: %d %s", status, body)
	}
	if status, body := h.do("POST", "/v1/revocations", wire.RevocationRequest{Identity: td.Identity(), Reason: "compromised"}, h.admin); status != http.StatusOK {
		t.Fatalf("revoke: %d %s", status, body)
	}

	// An agent with a fresh in-memory key must not enroll again.
	status, body := h.do("POST", "/v1/enrollments", h.request(td, []ssh.PublicKey{hostKey()}, nil, ""), "")
	want := `host identity ` + td.Identity() + ` is revoked; an admin can allow it again by creating its registration anew`
	var e wire.Error
	json.Unmarshal(body, &e)
	if status != http.StatusForbidden || e.Code != "identity_revoked" || e.Error != want {
		t.Fatalf("enroll after revocation: %d %s", status, body)
	}
	if ev := h.lastEvent(); ev.Action != "enroll" || ev.Outcome != store.OutcomeRejected || ev.Code != "identity_revoked" || ev.Identity != td.Identity() {
		t.Errorf("audit event %+v", ev)
	}

	// A join token does not get around the block either.
	token := h.joinToken(time.Hour, "host1.example.com")
	status, body = h.do("POST", "/v1/enrollments", h.request(td, []ssh.PublicKey{hostKey()}, nil, token), "")
	if status != http.StatusForbidden || !strings.Contains(string(body), "identity_revoked") {
		t.Fatalf("enroll with join token after revocation: %d %s", status, body)
	}

	// Creating the registration again is the explicit re-allow.
	h.register(td.Identity(), "host1.example.com")
	if ev := h.lastEvent(); ev.Action != "registration.create" || ev.Reason != "clears the revocation of this identity" {
		t.Errorf("audit event of re-registration %+v", ev)
	}
	if status, body := h.do("POST", "/v1/enrollments", h.request(td, []ssh.PublicKey{hostKey()}, nil, ""), ""); status != http.StatusOK {
		t.Fatalf("enroll after re-registration: %d %s", status, body)
	}
}

func TestRevokeRegisteredIdentityNeverEnrolled(t *testing.T) {
	h := newHarness(t)
	td := catest.NewTD(h.sim, 0x22)
	h.register(td.Identity(), "host2.example.com")

	status, body := h.do("POST", "/v1/revocations", wire.RevocationRequest{Identity: td.Identity()}, h.admin)
	var resp wire.RevocationResponse
	if status != http.StatusOK || json.Unmarshal(body, &resp) != nil || len(resp.Serials) != 0 || len(resp.HostKeys) != 0 {
		t.Fatalf("revoke registered identity: %d %s", status, body)
	}
	status, body = h.do("POST", "/v1/enrollments", h.request(td, []ssh.PublicKey{hostKey()}, nil, ""), "")
	if status != http.StatusForbidden || !strings.Contains(string(body), "identity_revoked") {
		t.Fatalf("enroll after revocation: %d %s", status, body)
	}

	status, body = h.do("POST", "/v1/revocations", wire.RevocationRequest{Identity: "ffff"}, h.admin)
	if status != http.StatusNotFound || !strings.Contains(string(body), "no host and no registration for identity ffff") {
		t.Fatalf("revoke unknown identity: %d %s", status, body)
	}
}
