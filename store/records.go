package store

import "time"

// Challenge is an enrollment nonce handed out by POST /v1/challenges.
type Challenge struct {
	ExpiresAt time.Time `json:"expires_at"`
	// UsedAt is set when an enrollment burned the nonce. The record stays until
	// it expires, so a replay gets its own error instead of "unknown".
	UsedAt time.Time `json:"used_at,omitzero"`
}

// JoinToken is a one-time enrollment credential for given principals. Only
// the SHA-256 digest of the token string is stored; ID is public.
type JoinToken struct {
	ID         string    `json:"id"`
	Principals []string  `json:"principals"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Comment    string    `json:"comment,omitempty"`
	UsedAt     time.Time `json:"used_at,omitzero"`
	UsedBy     string    `json:"used_by,omitempty"` // the host identity that consumed it
}

// AdminToken is an admin bearer credential. Only its SHA-256 digest is stored.
type AdminToken struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Comment   string    `json:"comment,omitempty"`
}

// Registration grants principals to an attested host identity.
type Registration struct {
	Identity   string    `json:"identity"`
	Principals []string  `json:"principals"`
	CreatedAt  time.Time `json:"created_at"`
	Comment    string    `json:"comment,omitempty"`
}

// Host is the current state of an enrolled host identity.
type Host struct {
	Identity   string   `json:"identity"`
	Principals []string `json:"principals"`
	// HostKeys are the authorized_keys lines of the keys of the last enrollment.
	HostKeys []string `json:"host_keys"`
	// Serials are the certificates of the last enrollment, then those of
	// earlier enrollments that are still valid and were not superseded.
	Serials        []uint64  `json:"serials"`
	EnrollmentID   string    `json:"enrollment_id"`
	EnrolledAt     time.Time `json:"enrolled_at"`
	Verifier       string    `json:"verifier"`
	EvidenceSHA256 string    `json:"evidence_sha256"`
	Simulated      bool      `json:"simulated,omitempty"`
	JoinTokenID    string    `json:"join_token_id,omitempty"`
}

// Certificate is one issued host certificate.
type Certificate struct {
	Serial       uint64    `json:"serial"`
	Identity     string    `json:"identity"`
	KeyID        string    `json:"key_id"`
	EnrollmentID string    `json:"enrollment_id"`
	Principals   []string  `json:"principals"`
	ValidAfter   time.Time `json:"valid_after"`
	ValidBefore  time.Time `json:"valid_before"`
	HostKey      string    `json:"host_key"`    // authorized_keys line
	Certificate  string    `json:"certificate"` // OpenSSH certificate line
	IssuedAt     time.Time `json:"issued_at"`
}

// Revocation records a revoked certificate serial, host key or host
// identity.
type Revocation struct {
	Serial    uint64    `json:"serial,omitempty"`
	HostKey   string    `json:"host_key,omitempty"` // authorized_keys line
	Identity  string    `json:"identity,omitempty"`
	RevokedAt time.Time `json:"revoked_at"`
	Reason    string    `json:"reason,omitempty"`
}

// Audit outcomes.
const (
	OutcomeAccepted = "accepted"
	OutcomeRejected = "rejected"
	OutcomeError    = "error" // the CA failed, not the request
)

// Event is one audit log entry. Seq is assigned by AppendAudit and grows by
// one per event.
type Event struct {
	Seq            uint64    `json:"seq"`
	Time           time.Time `json:"time"`
	Action         string    `json:"action"` // for example "enroll", "revoke", "registration.create"
	Source         string    `json:"source,omitempty"`
	Outcome        string    `json:"outcome"`
	Code           string    `json:"code,omitempty"`   // the public error code of a rejection
	Reason         string    `json:"reason,omitempty"` // the internal cause of a rejection
	Identity       string    `json:"identity,omitempty"`
	Principals     []string  `json:"principals,omitempty"`
	EnrollmentID   string    `json:"enrollment_id,omitempty"`
	Verifier       string    `json:"verifier,omitempty"`
	EvidenceSHA256 string    `json:"evidence_sha256,omitempty"`
	Simulated      bool      `json:"simulated,omitempty"`
	Serials        []uint64  `json:"serials,omitempty"`
	// Superseded are the serials of the identity's earlier certificates that
	// an enrollment revoked, because their key or principals are gone.
	Superseded []uint64 `json:"superseded,omitempty"`
	Admin      string   `json:"admin,omitempty"` // the admin token ID of an admin action
}
