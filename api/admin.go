package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/ca"
	"github.com/rassh/rassh/store"
)

func (s *Server) handleCreateRegistration(w http.ResponseWriter, r *http.Request) {
	ev := s.adminEvent(r, "registration.create")
	var req wire.RegistrationRequest
	if derr := s.decode(w, r, &req); derr != nil {
		s.rejectAdmin(w, r, ev, derr.status, derr.code, derr.msg, derr.err)
		return
	}
	req.Identity = strings.ToLower(strings.TrimSpace(req.Identity))
	ev.Identity, ev.Principals = req.Identity, req.Principals
	if err := validateIdentity(req.Identity); err != nil {
		s.rejectAdmin(w, r, ev, http.StatusBadRequest, codeInvalidInput, err.Error(), nil)
		return
	}
	if err := s.validateGrant(req.Principals); err != nil {
		s.rejectAdmin(w, r, ev, http.StatusBadRequest, codeInvalidInput, err.Error(), nil)
		return
	}
	reg := store.Registration{Identity: req.Identity, Principals: req.Principals, CreatedAt: s.now().UTC(), Comment: req.Comment}
	unrevoked, err := s.Store.PutRegistration(reg)
	if err != nil {
		s.rejectAdmin(w, r, ev, http.StatusInternalServerError, codeInternalError, "internal error", err)
		return
	}
	if unrevoked {
		ev.Reason = "clears the revocation of this identity"
	}
	if s.audit(w, r, ev) {
		requestAttrs(r).add("identity", reg.Identity)
		writeJSON(w, http.StatusCreated, wire.Registration(reg))
	}
}

// validateIdentity accepts the identity forms the CA derives (see
// ca.ValidateRegistrationIdentity); join: identities come from join tokens.
func validateIdentity(id string) error {
	if strings.HasPrefix(id, "join:") {
		return fmt.Errorf("invalid identity %q: join: identities come from join tokens, not registrations", id)
	}
	return ca.ValidateRegistrationIdentity(id)
}

// validateGrant checks principals for a registration or join token: valid,
// and each within the CA's host patterns, so an admin learns at once that a
// grant could never be issued.
func (s *Server) validateGrant(principals []string) error {
	if err := ca.ValidatePrincipals(principals); err != nil {
		return err
	}
	if len(s.HostPatterns) == 0 {
		return nil
	}
	for _, p := range principals {
		matched := false
		for _, pat := range s.HostPatterns {
			matched = matched || ca.MatchPattern(pat, p)
		}
		if !matched {
			return fmt.Errorf("principal %q matches none of the CA's host patterns %q", p, s.HostPatterns)
		}
	}
	return nil
}

func (s *Server) handleListRegistrations(w http.ResponseWriter, r *http.Request) {
	regs, err := s.Store.Registrations()
	respondList(s, w, r, regs, err, func(x store.Registration) wire.Registration { return wire.Registration(x) })
}

func (s *Server) handleDeleteRegistration(w http.ResponseWriter, r *http.Request) {
	identity := strings.ToLower(chi.URLParam(r, "identity"))
	ev := s.adminEvent(r, "registration.delete")
	ev.Identity = identity
	err := s.Store.DeleteRegistration(identity)
	if errors.Is(err, store.ErrNotFound) {
		s.rejectAdmin(w, r, ev, http.StatusNotFound, codeNotFound, fmt.Sprintf("no registration for identity %s", identity), nil)
		return
	}
	if err != nil {
		s.rejectAdmin(w, r, ev, http.StatusInternalServerError, codeInternalError, "internal error", err)
		return
	}
	if s.audit(w, r, ev) {
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) handleCreateJoinToken(w http.ResponseWriter, r *http.Request) {
	ev := s.adminEvent(r, "join-token.create")
	var req wire.JoinTokenRequest
	if derr := s.decode(w, r, &req); derr != nil {
		s.rejectAdmin(w, r, ev, derr.status, derr.code, derr.msg, derr.err)
		return
	}
	ev.Principals = req.Principals
	if err := s.validateGrant(req.Principals); err != nil {
		s.rejectAdmin(w, r, ev, http.StatusBadRequest, codeInvalidInput, err.Error(), nil)
		return
	}
	// Check the seconds before converting, because a large count overflows
	// time.Duration and wraps into the allowed range.
	maxSeconds := int64(MaxJoinTokenTTL / time.Second)
	if req.TTLSeconds < 0 || req.TTLSeconds > maxSeconds {
		s.rejectAdmin(w, r, ev, http.StatusBadRequest, codeInvalidInput, fmt.Sprintf("ttl_seconds %d out of range: 1 to %d", req.TTLSeconds, maxSeconds), nil)
		return
	}
	ttl := time.Duration(req.TTLSeconds) * time.Second
	if ttl == 0 {
		ttl = DefaultJoinTokenTTL
	}

	token, err := store.NewToken(s.rand(), store.JoinTokenPrefix)
	if err != nil {
		s.rejectAdmin(w, r, ev, http.StatusInternalServerError, codeInternalError, "internal error", err)
		return
	}
	now := s.now().UTC()
	jt := store.JoinToken{ID: store.TokenID(token), Principals: req.Principals, CreatedAt: now, ExpiresAt: now.Add(ttl), Comment: req.Comment}
	if err := s.Store.PutJoinToken(token, jt); err != nil {
		s.rejectAdmin(w, r, ev, http.StatusInternalServerError, codeInternalError, "internal error", err)
		return
	}
	ev.Reason = "join token " + jt.ID
	if s.audit(w, r, ev) {
		requestAttrs(r).add("join_token_id", jt.ID)
		writeJSON(w, http.StatusCreated, wire.JoinTokenResponse{Token: token, ID: jt.ID, Principals: jt.Principals, ExpiresAt: jt.ExpiresAt})
	}
}

func (s *Server) handleListJoinTokens(w http.ResponseWriter, r *http.Request) {
	tokens, err := s.Store.JoinTokens()
	respondList(s, w, r, tokens, err, func(x store.JoinToken) wire.JoinToken { return wire.JoinToken(x) })
}

func (s *Server) handleListHosts(w http.ResponseWriter, r *http.Request) {
	hosts, err := s.Store.Hosts()
	respondList(s, w, r, hosts, err, func(x store.Host) wire.Host { return wire.Host(x) })
}

func (s *Server) handleListCertificates(w http.ResponseWriter, r *http.Request) {
	certs, err := s.Store.Certificates()
	respondList(s, w, r, certs, err, func(x store.Certificate) wire.Certificate { return wire.Certificate(x) })
}

func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	after, err1 := queryUint(r, "after", 0)
	limit, err2 := queryUint(r, "limit", defaultAuditPageSize)
	if err := errors.Join(err1, err2); err != nil {
		s.fail(w, r, http.StatusBadRequest, codeInvalidInput, err.Error(), nil)
		return
	}
	limit = min(limit, defaultAuditPageSize)
	events, err := s.Store.Audit(after, int(limit))
	respondList(s, w, r, events, err, func(x store.Event) wire.AuditEvent { return wire.AuditEvent(x) })
}

func queryUint(r *http.Request, name string, def uint64) (uint64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("query parameter %s=%q is not a non-negative integer", name, v)
	}
	return n, nil
}

// respondList writes items converted to their wire form, or the store error.
func respondList[T, W any](s *Server, w http.ResponseWriter, r *http.Request, items []T, err error, conv func(T) W) {
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, codeInternalError, "internal error", err)
		return
	}
	out := make([]W, 0, len(items))
	for _, it := range items {
		out = append(out, conv(it))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	ev := s.adminEvent(r, "revoke")
	var req wire.RevocationRequest
	if derr := s.decode(w, r, &req); derr != nil {
		s.rejectAdmin(w, r, ev, derr.status, derr.code, derr.msg, derr.err)
		return
	}
	if revocationTargets(req) != 1 {
		s.rejectAdmin(w, r, ev, http.StatusBadRequest, codeInvalidInput, "give exactly one of serial, host_key and identity", nil)
		return
	}
	var hostKey ssh.PublicKey
	if req.HostKey != "" {
		var err error
		if hostKey, err = parsePlainKey(req.HostKey); err != nil {
			s.rejectAdmin(w, r, ev, http.StatusBadRequest, codeInvalidInput, "invalid host_key: "+err.Error(), nil)
			return
		}
	}

	req.Identity = strings.ToLower(strings.TrimSpace(req.Identity))
	ev.Reason = req.Reason
	resp, err := s.revoke(req, hostKey, &ev)
	if errors.Is(err, store.ErrNotFound) {
		msg := fmt.Sprintf("nothing to revoke: serial %d was never issued", req.Serial)
		if req.Identity != "" {
			msg = fmt.Sprintf("nothing to revoke: no host and no registration for identity %s", req.Identity)
		}
		s.rejectAdmin(w, r, ev, http.StatusNotFound, codeNotFound, msg, nil)
		return
	}
	if err != nil {
		s.rejectAdmin(w, r, ev, http.StatusInternalServerError, codeInternalError, "internal error", err)
		return
	}
	requestAttrs(r).add("serials", resp.Serials)
	writeJSON(w, http.StatusOK, resp)
}

// revocationTargets returns how many of serial, host_key and identity req
// sets.
func revocationTargets(req wire.RevocationRequest) int {
	n := 0
	for _, given := range []bool{req.Serial != 0, req.HostKey != "", req.Identity != ""} {
		if given {
			n++
		}
	}
	return n
}

// revoke stores the revocation of the one target of req, with ev as its
// audit event, and returns the revoked serials and host keys. hostKey is
// req.HostKey parsed, or nil.
func (s *Server) revoke(req wire.RevocationRequest, hostKey ssh.PublicKey, ev *store.Event) (wire.RevocationResponse, error) {
	now := s.now()
	var resp wire.RevocationResponse
	switch {
	case req.Serial != 0:
		ev.Serials = []uint64{req.Serial}
		resp.Serials = ev.Serials
		return resp, s.Store.RevokeSerial(req.Serial, req.Reason, now, *ev)
	case hostKey != nil:
		line := ca.AuthorizedLine(hostKey)
		resp.HostKeys = []string{line}
		return resp, s.Store.RevokeKey(hostKey.Marshal(), line, req.Reason, now, *ev)
	default:
		ev.Identity = req.Identity
		h, err := s.Store.RevokeIdentity(req.Identity, req.Reason, now, keyBlob, *ev)
		resp.Serials, resp.HostKeys = h.Serials, h.HostKeys
		return resp, err
	}
}

// parsePlainKey parses an authorized_keys line of a plain public key.
func parsePlainKey(line string) (ssh.PublicKey, error) {
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return nil, err
	}
	if _, isCert := k.(*ssh.Certificate); isCert {
		return nil, errors.New("is a certificate, expected a plain public key")
	}
	return k, nil
}

func keyBlob(line string) ([]byte, error) {
	k, err := parsePlainKey(line)
	if err != nil {
		return nil, err
	}
	return k.Marshal(), nil
}
