package ca

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/store"
	"github.com/rassh/rassh/verifier"
)

// issue signs the certificates and commits the enrollment, signing again
// with new serials if the store reports a serial already taken.
func (a *Authority) issue(req *wire.EnrollmentRequest, keys []hostKey, claims *verifier.Claims, g grant, principals []string, now time.Time, ev *store.Event) (*Result, error) {
	enrollmentID, err := a.newEnrollmentID()
	if err != nil {
		return nil, internal(err)
	}
	ev.EnrollmentID = enrollmentID
	ext := Extension{
		Verifier:       claims.Verifier,
		EvidenceSHA256: ev.EvidenceSHA256,
		RequireRASSH:   req.RequireRASSH || a.RequireRASSH,
		Simulated:      claims.Simulated,
	}
	t := a.newTemplate(principals, enrollmentID, ext, now)

	for range maxSerialRetries {
		certs, err := a.signAll(keys, t, now)
		if err != nil {
			return nil, internal(err)
		}
		e := a.enrollmentRecord(keys, certs, g, t, enrollmentID, claims, now, *ev)
		committed, err := a.Store.CommitEnrollment(e)
		if errors.Is(err, store.ErrSerialExists) {
			continue
		}
		if err != nil {
			return nil, commitError(err, g.identity)
		}
		return a.result(certs, g, t, enrollmentID, committed), nil
	}
	return nil, internal(fmt.Errorf("commit enrollment %s: serial collision %d times", enrollmentID, maxSerialRetries))
}

func commitError(err error, identity string) *Error {
	var conflict *store.ConflictError
	switch {
	case errors.Is(err, store.ErrIdentityRevoked):
		msg := fmt.Sprintf("host identity %s is revoked; an admin can allow it again by creating its registration anew", identity)
		return forbidden(CodeIdentityRevoked, msg, err)
	case errors.As(err, &conflict):
		// The other identity goes only to the audit event and the log.
		cause := fmt.Errorf("principal %q is bound to identity %s", conflict.Principal, conflict.Owner)
		msg := fmt.Sprintf("principal %q is bound to another host identity; an admin can free it by revoking that identity (rassh-ca admin revoke --identity), or grant this host other principals", conflict.Principal)
		return &Error{Kind: KindConflict, Code: CodePrincipalConflict, Message: msg, Err: cause}
	case errors.Is(err, store.ErrKeyRevoked):
		return forbidden(CodeHostKeyRevoked, "host key revoked: generate a new host key", err)
	case errors.Is(err, store.ErrJoinTokenUnknown), errors.Is(err, store.ErrJoinTokenUsed), errors.Is(err, store.ErrJoinTokenExpired):
		return joinTokenError(err)
	}
	return internal(fmt.Errorf("commit enrollment: %w", err))
}

func (a *Authority) enrollmentRecord(keys []hostKey, certs []*ssh.Certificate, g grant, t template, enrollmentID string, claims *verifier.Claims, now time.Time, ev store.Event) store.Enrollment {
	host := store.Host{
		Identity:       g.identity,
		Principals:     t.principals,
		EnrollmentID:   enrollmentID,
		EnrolledAt:     now.UTC(),
		Verifier:       claims.Verifier,
		EvidenceSHA256: ev.EvidenceSHA256,
		Simulated:      claims.Simulated,
		JoinTokenID:    g.boundBy,
	}
	var records []store.Certificate
	for i, c := range certs {
		host.HostKeys = append(host.HostKeys, authorizedLine(keys[i].key))
		host.Serials = append(host.Serials, c.Serial)
		records = append(records, store.Certificate{
			Serial:       c.Serial,
			Identity:     g.identity,
			KeyID:        t.keyID,
			EnrollmentID: enrollmentID,
			Principals:   t.principals,
			ValidAfter:   t.validAfter.UTC(),
			ValidBefore:  t.validBefore.UTC(),
			HostKey:      authorizedLine(keys[i].key),
			Certificate:  authorizedLine(c),
			IssuedAt:     now.UTC(),
		})
	}
	ev.Outcome = store.OutcomeAccepted
	ev.Serials = host.Serials
	return store.Enrollment{
		Host:            host,
		Certificates:    records,
		HostKeyBlobs:    blobs(keys),
		JoinTokenDigest: g.tokenDigest,
		Event:           ev,
		Now:             now,
	}
}

func (a *Authority) result(certs []*ssh.Certificate, g grant, t template, enrollmentID string, ev store.Event) *Result {
	res := &Result{Identity: g.identity, EnrollmentID: enrollmentID, Serials: ev.Serials, Event: ev}
	res.Response = wire.EnrollmentResponse{
		HostID:      g.identity,
		Principals:  t.principals,
		ValidAfter:  t.validAfter.UTC(),
		ValidBefore: t.validBefore.UTC(),
		CAKeys:      []string{authorizedLine(a.Signer.PublicKey())},
	}
	for _, c := range certs {
		res.Response.Certificates = append(res.Response.Certificates, authorizedLine(c))
	}
	return res
}

// authorizedLine renders a key or certificate as one authorized_keys line
// without the trailing newline.
func authorizedLine(k ssh.PublicKey) string {
	b := ssh.MarshalAuthorizedKey(k)
	return string(b[:len(b)-1])
}
