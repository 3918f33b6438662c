package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/rassh/rassh/internal/ratelimit"
	"github.com/rassh/rassh/store"
)

type adminKey struct{}

// requireAdmin admits requests with "Authorization: Bearer <token>" whose
// SHA-256 digest is a stored admin token. Each rejected request is an audit
// event "admin.auth" with the source address, the method and the path, but
// never the token. A source that fails more often than adminFailureRate, or
// all sources together more often than adminFailureAllRate, get 429 without
// an event, so that they cannot grow the audit log without bound.
func (s *Server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="rassh-ca"`)
			s.rejectAuth(w, r, "admin bearer token required", errors.New("no bearer token in the Authorization header"))
			return
		}
		t, err := s.Store.AdminToken(store.TokenDigest(token))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="rassh-ca", error="invalid_token"`)
			cause := err
			if errors.Is(err, store.ErrNotFound) {
				cause = errors.New("admin token unknown")
			}
			s.rejectAuth(w, r, "admin token invalid", cause)
			return
		}
		requestAttrs(r).add("admin", t.ID)
		next.ServeHTTP(w, r.WithContext(withAdmin(r, t.ID)))
	})
}

// rejectAuth responds 401 to a request that failed admin authentication and
// audits it, or responds 429 without an audit event when its source, or all
// sources together, failed too often. The source's bucket comes first, so
// that a source it rejects takes nothing from the shared one.
func (s *Server) rejectAuth(w http.ResponseWriter, r *http.Request, msg string, cause error) {
	now := s.now()
	if ok, wait := s.limiters().adminFailure.Take(ratelimit.SourceKey(r.RemoteAddr), now); !ok {
		w.Header().Del("WWW-Authenticate")
		s.rejectRateLimited(w, r, "failed admin authentications", wait)
		return
	}
	if ok, wait := s.limiters().adminFailureAll.Take(now); !ok {
		w.Header().Del("WWW-Authenticate")
		s.writeRateLimited(w, r, "failed admin authentications from all addresses", "failed admin authentications from all addresses", wait)
		return
	}
	ev := store.Event{
		Time:    s.now(),
		Action:  "admin.auth",
		Source:  r.RemoteAddr,
		Outcome: store.OutcomeRejected,
		Code:    codeUnauthorized,
		Reason:  fmt.Sprintf("%v (%s %s)", cause, r.Method, r.URL.Path),
	}
	if _, err := s.Store.AppendAudit(ev); err != nil {
		requestAttrs(r).add("audit_error", err.Error())
	}
	s.fail(w, r, http.StatusUnauthorized, codeUnauthorized, msg, cause)
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) <= len(prefix) || subtle.ConstantTimeCompare([]byte(strings.ToLower(h[:len(prefix)])), []byte(prefix)) != 1 {
		return "", false
	}
	return strings.TrimSpace(h[len(prefix):]), true
}

func withAdmin(r *http.Request, id string) context.Context {
	return context.WithValue(r.Context(), adminKey{}, id)
}

// adminEvent returns the audit event of an admin action with the outcome
// accepted, which rejectAdmin changes on failure.
func (s *Server) adminEvent(r *http.Request, action string) store.Event {
	id, _ := r.Context().Value(adminKey{}).(string)
	return store.Event{Time: s.now(), Action: action, Source: r.RemoteAddr, Outcome: store.OutcomeAccepted, Admin: id}
}

// audit appends ev to the audit log, or responds 500 and returns false.
func (s *Server) audit(w http.ResponseWriter, r *http.Request, ev store.Event) bool {
	if _, err := s.Store.AppendAudit(ev); err != nil {
		s.fail(w, r, http.StatusInternalServerError, codeInternalError, "internal error", fmt.Errorf("append audit event: %w", err))
		return false
	}
	return true
}

// rejectAdmin audits an admin action that failed, with the public message
// and the internal cause as the reason, and writes the error response. A
// failure of the CA itself (status 500) has the outcome "error".
func (s *Server) rejectAdmin(w http.ResponseWriter, r *http.Request, ev store.Event, status int, code, msg string, cause error) {
	ev.Outcome, ev.Code, ev.Reason = store.OutcomeRejected, code, msg
	if status >= 500 {
		ev.Outcome = store.OutcomeError
	}
	if cause != nil {
		ev.Reason = fmt.Sprintf("%s: %v", msg, cause)
	}
	if _, err := s.Store.AppendAudit(ev); err != nil {
		requestAttrs(r).add("audit_error", err.Error())
	}
	s.fail(w, r, status, code, msg, cause)
}
