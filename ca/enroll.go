package ca

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/store"
	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/binding"
)

// maxSerialRetries bounds how often an enrollment is signed again after the
// store found a serial already taken (a 64-bit collision, so practically
// never).
const maxSerialRetries = 3

// Result is an accepted enrollment.
type Result struct {
	Response     wire.EnrollmentResponse
	Identity     string
	EnrollmentID string
	Serials      []uint64
	Event        store.Event
}

// Enroll runs the enrollment pipeline for a request from source, the client
// address for the audit log. It burns the nonce, checks the host key
// signatures, verifies the evidence, checks the binding and the policy, and
// authorizes the identity. Then it derives principals and validity, signs
// one certificate per host key, re-checks each, and records it all in one
// store transaction. Every attempt, accepted or rejected, is written to the
// audit log. Errors are *Error.
func (a *Authority) Enroll(ctx context.Context, req *wire.EnrollmentRequest, source string) (*Result, error) {
	now := a.now()
	ev := store.Event{Time: now, Action: "enroll", Source: source, EvidenceSHA256: EvidenceDigest(req.Evidence)}
	res, err := a.enroll(ctx, req, now, &ev)
	if err == nil {
		return res, nil
	}
	e := AsError(err)
	ev.Outcome = store.OutcomeRejected
	if e.Kind == KindInternal || e.Kind == KindUndecided {
		ev.Outcome = store.OutcomeError
	}
	ev.Code, ev.Reason = e.Code, e.Error()
	if _, auditErr := a.Store.AppendAudit(ev); auditErr != nil {
		return nil, internal(fmt.Errorf("append audit event for %s: %w (enrollment failed with %v)", e.Code, auditErr, e))
	}
	return nil, e
}

func (a *Authority) enroll(ctx context.Context, req *wire.EnrollmentRequest, now time.Time, ev *store.Event) (*Result, error) {
	if a.Signer == nil || a.Store == nil || a.Verifier == nil || a.Policy == nil {
		return nil, internal(errors.New("authority misconfigured: signer, store, verifier and policy are all required"))
	}

	// Check the request's shape before anything else.
	keys, err := parseRequest(req)
	if err != nil {
		return nil, invalid(CodeInvalidRequest, "invalid enrollment request: "+err.Error(), err)
	}
	if err := checkEvidenceShape(req.Evidence); err != nil {
		return nil, invalid(CodeEvidenceMalformed, "malformed evidence: "+err.Error(), err)
	}
	if err := a.checkHostKeyShape(req, keys); err != nil {
		return nil, err
	}

	// Burn the nonce first, so evidence made for it is never checked twice.
	if err := a.Store.BurnChallenge(req.Nonce, now); err != nil {
		return nil, challengeError(err)
	}

	// Possession of each host key, before the more costly evidence check.
	want := EnrollBinding(req.Nonce, blobs(keys), req.Principals, req.JoinToken)
	if err := checkHostKeyProof(req.HostKeySignatures, keys, want); err != nil {
		return nil, err
	}

	// Authenticity, binding, policy.
	claims, err := a.verify(ctx, req, want, now)
	if err != nil {
		return nil, err
	}
	ev.Verifier, ev.Simulated = claims.Verifier, claims.Simulated

	// Authorization: who is this host and what may it be called.
	g, err := a.authorize(a.Identity(claims), req.JoinToken, now)
	if err != nil {
		return nil, err
	}
	ev.Identity = g.identity
	principals, err := derivePrincipals(g.principals, req.Principals, a.HostPatterns)
	if err != nil {
		return nil, forbidden(CodePrincipalNotAllowed, "principal not allowed: "+err.Error(), err)
	}
	ev.Principals = principals

	return a.issue(req, keys, claims, g, principals, now, ev)
}

func challengeError(err error) *Error {
	switch {
	case errors.Is(err, store.ErrChallengeUnknown):
		return forbidden(CodeChallengeUnknown, "challenge unknown: request a new one", err)
	case errors.Is(err, store.ErrChallengeUsed):
		return forbidden(CodeChallengeReplayed, "challenge already used: request a new one", err)
	case errors.Is(err, store.ErrChallengeExpired):
		return forbidden(CodeChallengeExpired, "challenge expired: request a new one", err)
	}
	return internal(fmt.Errorf("burn challenge: %w", err))
}

// verify checks the evidence, that it carries want, the enrollment binding of
// this request, and the policy.
func (a *Authority) verify(ctx context.Context, req *wire.EnrollmentRequest, want binding.Value, now time.Time) (*verifier.Claims, error) {
	claims, err := a.Verifier.Verify(ctx, req.Evidence)
	if err != nil {
		return nil, verifierError(err)
	}

	if err := verifier.CheckBinding(claims, want); err != nil {
		return nil, forbidden(CodeBindingMismatch, "evidence is not bound to this enrollment (nonce, host keys, principals, join token)", err)
	}

	if err := a.Policy.Check(claims, now); err != nil {
		if verifier.IsUndecided(err) {
			return nil, &Error{Kind: KindUndecided, Code: CodeUndecided, Message: "attestation policy could not be decided: try again later", Err: err}
		}
		msg := "evidence does not meet the attestation policy"
		var pe *verifier.PolicyError
		if errors.As(err, &pe) {
			msg += ": " + pe.Rule
		}
		return nil, forbidden(CodePolicyRejected, msg, err)
	}
	return claims, nil
}

func verifierError(err error) *Error {
	if verifier.IsUndecided(err) {
		return &Error{Kind: KindUndecided, Code: CodeUndecided, Message: "evidence could not be verified now: try again later", Err: err}
	}
	msg := "evidence rejected"
	var re *verifier.RejectedError
	if errors.As(err, &re) {
		msg += ": " + re.Check
	}
	return forbidden(CodeEvidenceRejected, msg, err)
}

// EnrollBinding computes the binding value the evidence of an enrollment
// must carry. The join-token digest is SHA-256 of the token string, or empty
// when there is no token; principals are those of the request as sent.
// hostKeys are the keys in SSH wire form.
func EnrollBinding(nonce []byte, hostKeys [][]byte, principals []string, joinToken string) binding.Value {
	return binding.Enroll(nonce, hostKeys, principals, JoinTokenDigest(joinToken))
}

// JoinTokenDigest is the join-token digest of the enrollment binding:
// SHA-256 of the token string, or nil when there is no token.
func JoinTokenDigest(joinToken string) []byte {
	if joinToken == "" {
		return nil
	}
	d := sha256.Sum256([]byte(joinToken))
	return d[:]
}

// EvidenceDigest is SHA-256 over the quote followed by the runtime data.
func EvidenceDigest(ev verifier.Evidence) string {
	h := sha256.New()
	h.Write(ev.Quote)
	h.Write(ev.RuntimeData)
	return hex.EncodeToString(h.Sum(nil))
}

func blobs(keys []hostKey) [][]byte {
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = k.blob
	}
	return out
}
