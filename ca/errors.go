package ca

import (
	"errors"
	"fmt"
)

// Kind classifies an enrollment error for the API's status code.
type Kind int

const (
	KindInvalid   Kind = iota + 1 // the request is malformed
	KindForbidden                 // authentic request, but not allowed
	KindConflict                  // a principal is bound to another host identity
	KindUndecided                 // a verifier could not decide; try again later
	KindInternal                  // the CA failed
)

// Error is an enrollment failure. Code and Message are public; Err is the
// internal cause, for the log and the audit event only.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Code + ": " + e.Message
	}
	return fmt.Sprintf("%s: %v", e.Code, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Public error codes of enrollment.
const (
	CodeInvalidRequest      = "invalid_request"
	CodeEvidenceMalformed   = "evidence_malformed"
	CodeChallengeUnknown    = "challenge_unknown"
	CodeChallengeReplayed   = "challenge_replayed"
	CodeChallengeExpired    = "challenge_expired"
	CodeEvidenceRejected    = "evidence_rejected"
	CodeBindingMismatch     = "binding_mismatch"
	CodePolicyRejected      = "policy_rejected"
	CodeNotAuthorized       = "not_authorized"
	CodeJoinTokenUnknown    = "join_token_unknown"
	CodeJoinTokenUsed       = "join_token_used"
	CodeJoinTokenExpired    = "join_token_expired"
	CodePrincipalNotAllowed = "principal_not_allowed"
	CodePrincipalConflict   = "principal_conflict"
	CodeHostKeyRevoked      = "host_key_revoked"
	CodeIdentityRevoked     = "identity_revoked"
	CodeHostKeyProofMissing = "host_key_proof_missing"
	CodeHostKeyProofInvalid = "host_key_proof_invalid"
	CodeUndecided           = "verifier_undecided"
	CodeInternal            = "internal_error"
)

func invalid(code, msg string, cause error) *Error {
	return &Error{Kind: KindInvalid, Code: code, Message: msg, Err: cause}
}

func forbidden(code, msg string, cause error) *Error {
	return &Error{Kind: KindForbidden, Code: code, Message: msg, Err: cause}
}

func internal(cause error) *Error {
	return &Error{Kind: KindInternal, Code: CodeInternal, Message: "internal error", Err: cause}
}

// AsError returns err as an *Error, wrapping any other error as internal.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return internal(err)
}
