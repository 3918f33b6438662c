// Package ca is the signing authority: it authorizes an enrollment, derives
// the principals and validity, signs one OpenSSH host certificate per host
// key and re-checks each finished certificate before it is recorded.
package ca

import (
	"context"
	"crypto/rand"
	"io"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/store"
	"github.com/rassh/rassh/verifier"
)

// Defaults of the Authority's zero-valued fields.
const (
	DefaultLifetime = 8 * time.Hour
	DefaultBackdate = 5 * time.Minute
)

// EvidenceVerifier turns evidence into verified claims. Implemented by the
// local backend (package verifier/local) and by MAA clients.
type EvidenceVerifier interface {
	Verify(ctx context.Context, ev verifier.Evidence) (*verifier.Claims, error)
}

// PolicyChecker checks verified claims against the CA's attestation policy.
type PolicyChecker interface {
	Check(c *verifier.Claims, now time.Time) error
}

// Store is the part of the store an enrollment reads and writes.
type Store interface {
	BurnChallenge(nonce []byte, now time.Time) error
	JoinToken(digest []byte) (store.JoinToken, error)
	Registration(identity string) (store.Registration, error)
	Host(identity string) (store.Host, error)
	CommitEnrollment(e store.Enrollment) (store.Event, error)
	AppendAudit(ev store.Event) (store.Event, error)
}

// Authority signs host certificates for attested hosts.
type Authority struct {
	// Signer is the CA key. An RSA key must sign with rsa-sha2-512, which
	// NewSigner arranges.
	Signer   ssh.Signer
	Store    Store
	Verifier EvidenceVerifier
	Policy   PolicyChecker

	// HostPatterns are globs (as in known_hosts: * and ?) that every issued
	// principal must match. They only narrow what a registration or join
	// token grants. Empty means no narrowing.
	HostPatterns []string
	// Lifetime is how long a certificate is valid after its issue time; zero
	// means DefaultLifetime.
	Lifetime time.Duration
	// Backdate moves valid-after before the issue time to absorb clock skew;
	// zero means DefaultBackdate.
	Backdate time.Duration
	// RequireRASSH marks every certificate as requiring ra-ssh, in addition to
	// hosts that ask for it.
	RequireRASSH bool
	// RequireHostKeyProof rejects enrollments without host_key_signatures.
	// Signatures that a request carries are verified either way.
	RequireHostKeyProof bool
	// AzureParavisorMRTDs are the MRTD values of Azure's paravisor (48 bytes
	// each) that make a locally verified Azure quote's vmUniqueId an identity
	// that registrations can name. Empty means that only MAA-verified Azure
	// evidence carries an identity; other Azure hosts need a join token.
	AzureParavisorMRTDs [][]byte

	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of serials, enrollment IDs and certificate nonces;
	// nil means crypto/rand.
	Rand io.Reader
}

func (a *Authority) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

func (a *Authority) rand() io.Reader {
	if a.Rand == nil {
		return rand.Reader
	}
	return a.Rand
}

func (a *Authority) lifetime() time.Duration {
	if a.Lifetime == 0 {
		return DefaultLifetime
	}
	return a.Lifetime
}

func (a *Authority) backdate() time.Duration {
	if a.Backdate == 0 {
		return DefaultBackdate
	}
	return a.Backdate
}
