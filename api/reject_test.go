package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/ca"
	"github.com/rassh/rassh/ca/catest"
	"github.com/rassh/rassh/store"
)

// rejection is one enrollment the CA must refuse. setup registers what the
// case needs and returns the request body to post.
type rejection struct {
	name    string
	setup   func(h *harness) any
	status  int
	code    string
	message string
}

func registeredTD(h *harness, owner byte, principals ...string) *catest.TD {
	td := catest.NewTD(h.sim, owner)
	h.register(td.Identity(), principals...)
	return td
}

// notRegistered is the public message for a TD of the given owner byte
// without a registration.
func notRegistered(owner byte) string {
	return "host not authorized: host identity " + catest.NewTD(nil, owner).Identity() +
		" has no registration and the request carries no join token; an admin can register the identity (rassh-ca admin registration create) or issue a join token"
}

// conflictMessage names the principal and the next step, and never the
// identity that holds the principal.
const conflictMessage = `principal "host1.example.com" is bound to another host identity; an admin can free it by revoking that identity (rassh-ca admin revoke --identity), or grant this host other principals`

var rejections = []rejection{
	{
		name: "stale challenge",
		setup: func(h *harness) any {
			td := registeredTD(h, 0x11, "host1.example.com")
			req := h.request(td, []ssh.PublicKey{hostKey()}, nil, "")
			h.advance(DefaultChallengeTTL)
			return req
		},
		status: 403, code: "challenge_expired", message: "challenge expired: request a new one",
	},
	{
		name: "replayed challenge",
		setup: func(h *harness) any {
			td := registeredTD(h, 0x11, "host1.example.com")
			req := h.request(td, []ssh.PublicKey{hostKey()}, nil, "")
			if status, body := h.do("POST", "/v1/enrollments", req, ""); status != http.StatusOK {
				h.t.Fatalf("first enrollment: %d %s", status, body)
			}
			return req
		},
		status: 403, code: "challenge_replayed", message: "challenge already used: request a new one",
	},
	{
		name: "unknown challenge",
		setup: func(h *harness) any {
			td := registeredTD(h, 0x11, "host1.example.com")
			req, _ := td.Request(make([]byte, 32), []ssh.PublicKey{hostKey()}, nil, "")
			return req
		},
		status: 403, code: "challenge_unknown", message: "challenge unknown: request a new one",
	},
	{
		name: "malformed evidence kind",
		setup: func(h *harness) any {
			td := registeredTD(h, 0x11, "host1.example.com")
			req := h.request(td, []ssh.PublicKey{hostKey()}, nil, "")
			req.Evidence.Kind = "sev-snp"
			return req
		},
		status: 400, code: "evidence_malformed",
		message: `malformed evidence: evidence kind "sev-snp" unknown (expected "tdx-quote" or "azure-tdx")`,
	},
	{
		name: "malformed quote",
		setup: func(h *harness) any {
			td := registeredTD(h, 0x11, "host1.example.com")
			req := h.request(td, []ssh.PublicKey{hostKey()}, nil, "")
			req.Evidence.Quote = req.Evidence.Quote[:100]
			return req
		},
		status: 403, code: "evidence_rejected", message: "evidence rejected: quote format",
	},
	{
		name: "binding mismatch",
		setup: func(h *harness) any {
			td := registeredTD(h, 0x11, "host1.example.com")
			req := h.request(td, []ssh.PublicKey{hostKey()}, nil, "")
			req.HostKeys[0] = ca.AuthorizedLine(hostKey()) // evidence binds the first key
			return req
		},
		status: 403, code: "binding_mismatch",
		message: "evidence is not bound to this enrollment (nonce, host keys, principals, join token)",
	},
	{
		name: "policy failure",
		setup: func(h *harness) any {
			td := registeredTD(h, 0x11, "host1.example.com")
			td.Config.Debug = true
			return h.request(td, []ssh.PublicKey{hostKey()}, nil, "")
		},
		status: 403, code: "policy_rejected", message: "evidence does not meet the attestation policy: allow_debug",
	},
	{
		name: "no registration or join token",
		setup: func(h *harness) any {
			return h.request(catest.NewTD(h.sim, 0x44), []ssh.PublicKey{hostKey()}, nil, "")
		},
		status: 403, code: "not_authorized", message: notRegistered(0x44),
	},
	{
		name: "no identity and no join token",
		setup: func(h *harness) any {
			return h.request(catest.NewTD(h.sim, 0), []ssh.PublicKey{hostKey()}, nil, "")
		},
		status: 403, code: "not_authorized",
		message: "host not authorized: the evidence carries no host identity that a registration can name, and the request carries no join token; enroll with a join token (an admin creates one with rassh-ca admin join-token create)",
	},
	{
		name: "unknown join token",
		setup: func(h *harness) any {
			return h.request(catest.NewTD(h.sim, 0), []ssh.PublicKey{hostKey()}, nil, "rassh-join-made-up")
		},
		status: 403, code: "join_token_unknown", message: "join token unknown",
	},
	{
		name: "reused join token",
		setup: func(h *harness) any {
			token := h.joinToken(time.Hour, "web1.example.com")
			req := h.request(catest.NewTD(h.sim, 0), []ssh.PublicKey{hostKey()}, nil, token)
			if status, body := h.do("POST", "/v1/enrollments", req, ""); status != http.StatusOK {
				h.t.Fatalf("first use: %d %s", status, body)
			}
			return h.request(catest.NewTD(h.sim, 0x55), []ssh.PublicKey{hostKey()}, nil, token)
		},
		status: 403, code: "join_token_used", message: "join token already used: ask an admin for a new one",
	},
	{
		name: "expired join token",
		setup: func(h *harness) any {
			token := h.joinToken(time.Hour, "web1.example.com")
			h.advance(time.Hour)
			return h.request(catest.NewTD(h.sim, 0), []ssh.PublicKey{hostKey()}, nil, token)
		},
		status: 403, code: "join_token_expired", message: "join token expired: ask an admin for a new one",
	},
	{
		name: "principal not allowed",
		setup: func(h *harness) any {
			td := registeredTD(h, 0x11, "host1.example.com")
			return h.request(td, []ssh.PublicKey{hostKey()}, []string{"host1.example.com", "other.example.com"}, "")
		},
		status: 403, code: "principal_not_allowed",
		message: `principal not allowed: principal "other.example.com" is not granted to this host`,
	},
	{
		name: "wildcard principal",
		setup: func(h *harness) any {
			td := registeredTD(h, 0x11, "host1.example.com")
			return h.request(td, []ssh.PublicKey{hostKey()}, []string{"*.example.com"}, "")
		},
		status: 400, code: "invalid_request",
		message: `invalid enrollment request: invalid principal "*.example.com": character '*' not allowed (only letters, digits and -._:)`,
	},
	{
		name: "principal conflict",
		setup: func(h *harness) any {
			td1 := registeredTD(h, 0x11, "host1.example.com")
			if status, body := h.do("POST", "/v1/enrollments", h.request(td1, []ssh.PublicKey{hostKey()}, nil, ""), ""); status != 200 {
				h.t.Fatalf("first host: %d %s", status, body)
			}
			td2 := registeredTD(h, 0x22, "host1.example.com")
			return h.request(td2, []ssh.PublicKey{hostKey()}, nil, "")
		},
		status: 409, code: "principal_conflict", message: conflictMessage,
	},
	{
		name: "another TD claims a registered host's principals",
		setup: func(h *harness) any {
			td1 := registeredTD(h, 0x11, "host1.example.com")
			if status, body := h.do("POST", "/v1/enrollments", h.request(td1, []ssh.PublicKey{hostKey()}, nil, ""), ""); status != 200 {
				h.t.Fatalf("registered host: %d %s", status, body)
			}
			intruder := catest.NewTD(h.sim, 0x66)
			return h.request(intruder, []ssh.PublicKey{hostKey()}, []string{"host1.example.com"}, "")
		},
		status: 403, code: "not_authorized", message: notRegistered(0x66),
	},
	{
		name: "join token for a registered host's principals",
		setup: func(h *harness) any {
			td1 := registeredTD(h, 0x11, "host1.example.com")
			if status, body := h.do("POST", "/v1/enrollments", h.request(td1, []ssh.PublicKey{hostKey()}, nil, ""), ""); status != 200 {
				h.t.Fatalf("registered host: %d %s", status, body)
			}
			token := h.joinToken(time.Hour, "host1.example.com")
			return h.request(catest.NewTD(h.sim, 0x66), []ssh.PublicKey{hostKey()}, nil, token)
		},
		status: 409, code: "principal_conflict", message: conflictMessage,
	},
	{
		name: "oversized body",
		setup: func(h *harness) any {
			return []byte(`{"nonce":"` + strings.Repeat("A", 130<<10) + `"}`)
		},
		status: 413, code: "body_too_large", message: "request body larger than 131072 bytes",
	},
	{
		name: "unknown field",
		setup: func(h *harness) any {
			return []byte(`{"nonce":"AAAA","host_keys":[],"evidence":{"kind":"tdx-quote","quote":""},"principal":"x"}`)
		},
		status: 400, code: "invalid_json", message: `invalid JSON body: unknown field "principal"`,
	},
	{
		name: "trailing data",
		setup: func(h *harness) any {
			return []byte(`{"nonce":"AAAA"} {}`)
		},
		status: 400, code: "invalid_json", message: "invalid JSON body: malformed",
	},
}

func TestEnrollRejections(t *testing.T) {
	for _, tc := range rejections {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			body := tc.setup(h)
			status, resp := h.do("POST", "/v1/enrollments", body, "")

			if status != tc.status {
				t.Errorf("status %d, want %d", status, tc.status)
			}
			var e wire.Error
			if err := json.Unmarshal(resp, &e); err != nil {
				t.Fatalf("error body %q: %v", resp, err)
			}
			if e.Code != tc.code || e.Error != tc.message {
				t.Errorf("error body %+v, want code %q message %q", e, tc.code, tc.message)
			}

			ev := h.lastEvent()
			if ev.Action != "enroll" || ev.Outcome != store.OutcomeRejected || ev.Code != tc.code {
				t.Errorf("audit event %+v, want rejected enroll with code %s", ev, tc.code)
			}
			if !strings.HasPrefix(ev.Source, "127.0.0.1:") {
				t.Errorf("audit source %q", ev.Source)
			}
			if ev.Reason == "" {
				t.Errorf("audit event without reason")
			}
			if req, ok := body.(*wire.EnrollmentRequest); ok && ev.EvidenceSHA256 != ca.EvidenceDigest(req.Evidence) {
				t.Errorf("audit evidence digest %q", ev.EvidenceSHA256)
			}
			if len(ev.Serials) != 0 {
				t.Errorf("rejected enrollment recorded serials %v", ev.Serials)
			}
		})
	}
}

// TestPrincipalConflictAuditNamesOwner checks that the conflict's audit
// reason names the identity that holds the principal, which the public
// message leaves out.
func TestPrincipalConflictAuditNamesOwner(t *testing.T) {
	h := newHarness(t)
	td1 := registeredTD(h, 0x11, "host1.example.com")
	h.do("POST", "/v1/enrollments", h.request(td1, []ssh.PublicKey{hostKey()}, nil, ""), "")
	td2 := registeredTD(h, 0x22, "host1.example.com")
	status, body := h.do("POST", "/v1/enrollments", h.request(td2, []ssh.PublicKey{hostKey()}, nil, ""), "")
	if status != http.StatusConflict {
		t.Fatalf("status %d", status)
	}
	if strings.Contains(string(body), td1.Identity()) {
		t.Errorf("public error names the other identity: %s", body)
	}
	ev := h.lastEvent()
	want := `principal_conflict: principal "host1.example.com" is bound to identity ` + td1.Identity()
	if ev.Reason != want || ev.Identity != td2.Identity() {
		t.Errorf("audit reason %q identity %q, want %q for %s", ev.Reason, ev.Identity, want, td2.Identity())
	}
	wantLog := `"error":"principal \"host1.example.com\" is bound to identity ` + td1.Identity() + `"`
	if !strings.Contains(h.logBuf.String(), wantLog) {
		t.Errorf("log lacks %s:\n%s", wantLog, h.logBuf.String())
	}
}
