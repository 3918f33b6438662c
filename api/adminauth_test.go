package api

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/store"
)

func TestAdminAuthFailureAudited(t *testing.T) {
	h := newHarness(t)

	status, _ := h.do("POST", "/v1/registrations", wire.RegistrationRequest{Identity: "ab", Principals: []string{"a.example.com"}}, "")
	if status != http.StatusUnauthorized {
		t.Fatalf("no token: status %d, want 401", status)
	}
	ev := h.lastEvent()
	if ev.Action != "admin.auth" || ev.Outcome != store.OutcomeRejected || ev.Code != "unauthorized" {
		t.Errorf("audit event of a missing token %+v", ev)
	}
	if !strings.HasPrefix(ev.Source, "127.0.0.1:") {
		t.Errorf("audit event source %q, want 127.0.0.1:<port>", ev.Source)
	}
	if want := "no bearer token in the Authorization header (POST /v1/registrations)"; ev.Reason != want {
		t.Errorf("audit event reason %q, want %q", ev.Reason, want)
	}

	wrong := store.AdminTokenPrefix + "not-a-stored-token"
	if status, _ := h.do("GET", "/v1/hosts", nil, wrong); status != http.StatusUnauthorized {
		t.Fatalf("unknown token: status %d, want 401", status)
	}
	ev = h.lastEvent()
	if ev.Action != "admin.auth" || ev.Reason != "admin token unknown (GET /v1/hosts)" {
		t.Errorf("audit event of an unknown token %+v", ev)
	}
	if strings.Contains(h.logBuf.String(), "not-a-stored-token") {
		t.Error("the log contains the presented token")
	}
}

func TestAdminAuthFailuresRateLimited(t *testing.T) {
	h := newHarness(t)
	for i := range adminFailureBurst {
		if status, _ := h.do("GET", "/v1/hosts", nil, "wrong"); status != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i, status)
		}
	}
	before := h.lastEvent().Seq

	status, body := h.do("GET", "/v1/hosts", nil, "wrong")
	if status != http.StatusTooManyRequests || !strings.Contains(string(body), "too many failed admin authentications from this address") {
		t.Fatalf("failure beyond the burst: %d %s", status, body)
	}
	if seq := h.lastEvent().Seq; seq != before {
		t.Errorf("a rate-limited failure was audited: last sequence %d, want %d", seq, before)
	}
	// A valid token still works from the same address.
	if status, body := h.do("GET", "/v1/hosts", nil, h.admin); status != http.StatusOK {
		t.Errorf("valid token after failures: %d %s", status, body)
	}
}

func TestAdminRejectionsAudited(t *testing.T) {
	h := newHarness(t)
	adminID := store.TokenID(h.admin)
	for _, c := range []struct {
		name, method, path string
		body               any
		status             int
		action, code       string
		reason             string
	}{
		{"invalid identity", "POST", "/v1/registrations", wire.RegistrationRequest{Identity: "Not Hex!", Principals: []string{"a.example.com"}},
			400, "registration.create", "invalid_request", `invalid identity "not hex!": expected an Azure vmUniqueId (a GUID such as 5e8b4a3e-1111-2222-3333-444455556666) or 288 hex digits (MRCONFIGID, MROWNER and MROWNERCONFIG)`},
		{"principal outside patterns", "POST", "/v1/registrations", wire.RegistrationRequest{Identity: "5e8b4a3e-1111-2222-3333-444455556666", Principals: []string{"a.other.org"}},
			400, "registration.create", "invalid_request", `principal "a.other.org" matches none of the CA's host patterns ["*.example.com"]`},
		{"unknown registration", "DELETE", "/v1/registrations/abcd", nil,
			404, "registration.delete", "not_found", "no registration for identity abcd"},
		{"join token ttl", "POST", "/v1/join-tokens", wire.JoinTokenRequest{Principals: []string{"a.example.com"}, TTLSeconds: -1},
			400, "join-token.create", "invalid_request", "ttl_seconds -1 out of range: 1 to 2592000"},
		{"revoke unknown serial", "POST", "/v1/revocations", wire.RevocationRequest{Serial: 42},
			404, "revoke", "not_found", "nothing to revoke: serial 42 was never issued"},
		{"revoke two targets", "POST", "/v1/revocations", wire.RevocationRequest{Serial: 42, Identity: "ab"},
			400, "revoke", "invalid_request", "give exactly one of serial, host_key and identity"},
		{"revoke unknown field", "POST", "/v1/revocations", []byte(`{"serial":1,"x":2}`),
			400, "revoke", "invalid_json", `invalid JSON body: unknown field "x": json: unknown field "x"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := h.do(c.method, c.path, c.body, h.admin)
			if status != c.status {
				t.Fatalf("status %d %s, want %d", status, body, c.status)
			}
			ev := h.lastEvent()
			if ev.Action != c.action || ev.Outcome != store.OutcomeRejected || ev.Code != c.code {
				t.Errorf("audit event %+v, want action %s, rejected, code %s", ev, c.action, c.code)
			}
			if ev.Reason != c.reason {
				t.Errorf("audit reason %q, want %q", ev.Reason, c.reason)
			}
			if ev.Admin != adminID || !strings.HasPrefix(ev.Source, "127.0.0.1:") {
				t.Errorf("audit event admin %q source %q, want %q and 127.0.0.1", ev.Admin, ev.Source, adminID)
			}
		})
	}
}

// doFrom is h.do without a token from the loopback address source, so that
// each source gets its own per-source bucket.
func (h *harness) doFrom(source, method, path, token string) int {
	h.t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest(method, h.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestAdminAuthFailuresManySources(t *testing.T) {
	h := newHarness(t)
	audited := 0
	for i := range 2 * adminFailureAllBurst / adminFailureBurst {
		source := fmt.Sprintf("127.0.1.%d", i+1)
		for range adminFailureBurst {
			switch status := h.doFrom(source, "GET", "/v1/hosts", "wrong"); status {
			case http.StatusUnauthorized:
				audited++
			case http.StatusTooManyRequests:
			default:
				t.Fatalf("source %s: status %d, want 401 or 429", source, status)
			}
		}
	}
	if audited != adminFailureAllBurst {
		t.Errorf("%d failures answered 401, want %d", audited, adminFailureAllBurst)
	}
	events, err := h.store.Audit(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != adminFailureAllBurst {
		t.Errorf("%d audit events, want %d", len(events), adminFailureAllBurst)
	}
}
