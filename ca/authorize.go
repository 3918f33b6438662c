package ca

import (
	"errors"
	"fmt"
	"time"

	"github.com/rassh/rassh/store"
)

// grant is the result of authorization: the identity the host enrolls as and
// the principals it may have.
type grant struct {
	identity    string
	principals  []string
	joinToken   *store.JoinToken // the token to burn, nil when none
	tokenDigest []byte
	// boundBy is the ID of the join token that bound the identity, recorded
	// in the host record so the host can renew. It is empty for a
	// registration, so deleting the registration ends renewals.
	boundBy string
}

// authorize finds what allows this host to enroll, in this order:
//
//  1. a join token, when the request carries one: its principals, bound to
//     the attested identity, or to "join:<token ID>" when there is none;
//  2. a registration of the attested identity;
//  3. the host record of an identity that a join token bound before, so a
//     host renews without a new token. An enrollment through a registration
//     ends that binding.
//
// The principals never come from the request itself.
func (a *Authority) authorize(identity, joinToken string, now time.Time) (grant, error) {
	if joinToken != "" {
		return a.authorizeJoinToken(identity, joinToken, now)
	}
	if identity == "" {
		err := errors.New("evidence carries no host identity and no join token was given")
		msg := "host not authorized: the evidence carries no host identity that a registration can name, and the request carries no join token; enroll with a join token (an admin creates one with rassh-ca admin join-token create)"
		return grant{}, forbidden(CodeNotAuthorized, msg, err)
	}

	reg, err := a.Store.Registration(identity)
	if err == nil {
		return grant{identity: identity, principals: reg.Principals}, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return grant{}, internal(fmt.Errorf("read registration: %w", err))
	}

	host, err := a.Store.Host(identity)
	if err == nil && host.JoinTokenID != "" {
		return grant{identity: identity, principals: host.Principals, boundBy: host.JoinTokenID}, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return grant{}, internal(fmt.Errorf("read host: %w", err))
	}
	// The identity comes from the host's own verified evidence, so naming it
	// tells the requester nothing it does not know.
	err = fmt.Errorf("no registration for identity %s", identity)
	msg := fmt.Sprintf("host not authorized: host identity %s has no registration and the request carries no join token; an admin can register the identity (rassh-ca admin registration create) or issue a join token", identity)
	return grant{}, forbidden(CodeNotAuthorized, msg, err)
}

// authorizeJoinToken reads the token without burning it; CommitEnrollment
// burns it in the transaction that records the enrollment, so a failed
// enrollment leaves it usable.
func (a *Authority) authorizeJoinToken(identity, joinToken string, now time.Time) (grant, error) {
	digest := JoinTokenDigest(joinToken)
	t, err := a.Store.JoinToken(digest)
	if err != nil {
		return grant{}, joinTokenError(err)
	}
	switch {
	case !t.UsedAt.IsZero():
		return grant{}, joinTokenError(fmt.Errorf("join token %s: %w by %s", t.ID, store.ErrJoinTokenUsed, t.UsedBy))
	case !now.Before(t.ExpiresAt):
		return grant{}, joinTokenError(fmt.Errorf("join token %s: %w at %s", t.ID, store.ErrJoinTokenExpired, t.ExpiresAt.Format("2006-01-02T15:04:05Z07:00")))
	}
	if identity == "" {
		identity = joinIdentity(t.ID)
	}
	return grant{identity: identity, principals: t.Principals, joinToken: &t, tokenDigest: digest, boundBy: t.ID}, nil
}

func joinTokenError(err error) *Error {
	switch {
	case errors.Is(err, store.ErrJoinTokenUnknown):
		return forbidden(CodeJoinTokenUnknown, "join token unknown", err)
	case errors.Is(err, store.ErrJoinTokenUsed):
		return forbidden(CodeJoinTokenUsed, "join token already used: ask an admin for a new one", err)
	case errors.Is(err, store.ErrJoinTokenExpired):
		return forbidden(CodeJoinTokenExpired, "join token expired: ask an admin for a new one", err)
	}
	return internal(fmt.Errorf("read join token: %w", err))
}
