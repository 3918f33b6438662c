package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/ca"
	"github.com/rassh/rassh/internal/ratelimit"
	"github.com/rassh/rassh/store"
)

func (s *Server) handleChallenge(w http.ResponseWriter, r *http.Request) {
	if ok, wait := s.limiters().challenges.Take(ratelimit.SourceKey(r.RemoteAddr), s.now()); !ok {
		s.rejectRateLimited(w, r, "challenges", wait)
		return
	}
	nonce := make([]byte, ca.NonceSize)
	if _, err := io.ReadFull(s.rand(), nonce); err != nil {
		s.fail(w, r, http.StatusInternalServerError, codeInternalError, "internal error", fmt.Errorf("generate nonce: %w", err))
		return
	}
	expires := s.now().Add(s.challengeTTL()).UTC()
	err := s.Store.PutChallenge(nonce, expires)
	if errors.Is(err, store.ErrTooManyPending) {
		s.fail(w, r, http.StatusServiceUnavailable, codeUnavailable, "too many pending challenges: try again later", err)
		return
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, codeInternalError, "internal error", fmt.Errorf("store challenge: %w", err))
		return
	}
	s.metrics.add("rassh_challenges_issued_total", 1)
	writeJSON(w, http.StatusCreated, wire.ChallengeResponse{Nonce: nonce, ExpiresAt: expires})
}

func (s *Server) handleEnroll(w http.ResponseWriter, r *http.Request) {
	var req wire.EnrollmentRequest
	if derr := s.decode(w, r, &req); derr != nil {
		s.auditRejectedBody(r, derr)
		s.countEnrollment(store.OutcomeRejected, derr.code)
		s.fail(w, r, derr.status, derr.code, derr.msg, derr.err)
		return
	}

	res, err := s.Enroller.Enroll(r.Context(), &req, r.RemoteAddr)
	if err != nil {
		e := ca.AsError(err)
		outcome := store.OutcomeRejected
		if e.Kind == ca.KindInternal || e.Kind == ca.KindUndecided {
			outcome = store.OutcomeError
		}
		s.countEnrollment(outcome, e.Code)
		s.fail(w, r, statusOf(e.Kind), e.Code, e.Message, e.Err)
		return
	}

	attrs := requestAttrs(r)
	attrs.add("identity", res.Identity)
	attrs.add("enrollment_id", res.EnrollmentID)
	attrs.add("serials", res.Serials)
	attrs.add("principals", res.Response.Principals)
	attrs.add("valid_before", res.Response.ValidBefore)
	s.countEnrollment(store.OutcomeAccepted, "")
	s.metrics.add("rassh_certificates_issued_total", uint64(len(res.Serials)))
	writeJSON(w, http.StatusOK, res.Response)
}

// auditRejectedBody records an enrollment attempt whose body could not be
// decoded, because such a request never reaches the authority.
func (s *Server) auditRejectedBody(r *http.Request, derr *decodeError) {
	ev := store.Event{
		Time:    s.now(),
		Action:  "enroll",
		Source:  r.RemoteAddr,
		Outcome: store.OutcomeRejected,
		Code:    derr.code,
		Reason:  derr.err.Error(),
	}
	if _, err := s.Store.AppendAudit(ev); err != nil {
		requestAttrs(r).add("audit_error", err.Error())
	}
}

func (s *Server) countEnrollment(outcome, code string) {
	s.metrics.add("rassh_enrollments_total", 1, "outcome", outcome, "code", code)
}

func statusOf(k ca.Kind) int {
	switch k {
	case ca.KindInvalid:
		return http.StatusBadRequest
	case ca.KindForbidden:
		return http.StatusForbidden
	case ca.KindConflict:
		return http.StatusConflict
	case ca.KindUndecided:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// handleCA serves the CA public key and the known_hosts line that trusts it,
// as JSON, or as known_hosts text when the client accepts text/plain.
func (s *Server) handleCA(w http.ResponseWriter, r *http.Request) {
	line := ca.KnownHostsLine(s.HostPatterns, s.CAKey)
	if strings.Contains(r.Header.Get("Accept"), "text/plain") {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, line+"\n")
		return
	}
	writeJSON(w, http.StatusOK, wire.CAResponse{
		PublicKeys: []string{ca.AuthorizedLine(s.CAKey)},
		KnownHosts: []string{line},
	})
}

// handleKRL serves the OpenSSH KRL of revoked certificates and host keys.
// Anyone may read it: ssh clients need it for RevokedHostKeys.
func (s *Server) handleKRL(w http.ResponseWriter, r *http.Request) {
	krl, err := s.buildKRL()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, codeInternalError, "internal error", err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(krl.Marshal())
}

func (s *Server) buildKRL() (*ca.KRL, error) {
	serials, keys, err := s.Store.Revocations()
	if err != nil {
		return nil, fmt.Errorf("read revocations: %w", err)
	}
	krl := &ca.KRL{
		CAKey: s.CAKey,
		// Revocations are never removed, so their count only grows.
		Version:     uint64(len(serials) + len(keys)),
		GeneratedAt: s.now(),
		Comment:     "rassh CA",
	}
	for _, r := range serials {
		krl.Serials = append(krl.Serials, r.Serial)
	}
	for _, r := range keys {
		k, err := parsePlainKey(r.HostKey)
		if err != nil {
			return nil, fmt.Errorf("revoked key in store: %w", err)
		}
		krl.Keys = append(krl.Keys, k)
	}
	return krl, nil
}

func (s *Server) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	io.WriteString(w, "ok\n")
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if err := s.Store.Check(); err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, codeUnavailable, "store not ready", err)
		return
	}
	io.WriteString(w, "ok\n")
}
