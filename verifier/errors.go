package verifier

import (
	"errors"
	"fmt"
)

// RejectedError reports evidence or a token that is not authentic: a bad
// signature, a broken certificate chain, a malformed quote, a binding that
// does not match. Check names the check that failed, for logs and metrics.
type RejectedError struct {
	Check string
	Err   error
}

func (e *RejectedError) Error() string { return fmt.Sprintf("rejected: %s: %v", e.Check, e.Err) }
func (e *RejectedError) Unwrap() error { return e.Err }

// PolicyError reports authentic evidence that does not meet the policy. Rule
// names the policy field; Value is the offending public value.
type PolicyError struct {
	Rule  string
	Value string
	Err   error
}

func (e *PolicyError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("policy: %s: %v", e.Rule, e.Err)
	}
	return fmt.Sprintf("policy: %s: %v (value %q)", e.Rule, e.Err, e.Value)
}
func (e *PolicyError) Unwrap() error { return e.Err }

// UndecidedError reports that verification could not reach a decision, for
// example because collateral or a key set could not be fetched. It is neither
// an acceptance nor a rejection; callers that must fail closed treat it as a
// rejection.
type UndecidedError struct {
	Op  string
	Err error
}

func (e *UndecidedError) Error() string { return fmt.Sprintf("could not decide: %s: %v", e.Op, e.Err) }
func (e *UndecidedError) Unwrap() error { return e.Err }

// Reject returns a *RejectedError for check.
func Reject(check string, format string, args ...any) error {
	return &RejectedError{Check: check, Err: fmt.Errorf(format, args...)}
}

// IsRejected, IsPolicy and IsUndecided report the class of err.
func IsRejected(err error) bool  { var e *RejectedError; return errors.As(err, &e) }
func IsPolicy(err error) bool    { var e *PolicyError; return errors.As(err, &e) }
func IsUndecided(err error) bool { var e *UndecidedError; return errors.As(err, &e) }
