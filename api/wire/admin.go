package wire

import "time"

// Bodies of the admin routes, which need "Authorization: Bearer <admin token>".

// RegistrationRequest is the body of POST /v1/registrations. It creates or
// replaces the registration of Identity.
type RegistrationRequest struct {
	// Identity is the attested host identity: the Azure vmUniqueId, or on
	// plain TDX hex(MRCONFIGID || MROWNER || MROWNERCONFIG), in lower case.
	Identity   string   `json:"identity"`
	Principals []string `json:"principals"`
	Comment    string   `json:"comment,omitempty"`
}

// Registration is one entry of GET /v1/registrations.
type Registration struct {
	Identity   string    `json:"identity"`
	Principals []string  `json:"principals"`
	CreatedAt  time.Time `json:"created_at"`
	Comment    string    `json:"comment,omitempty"`
}

// JoinTokenRequest is the body of POST /v1/join-tokens.
type JoinTokenRequest struct {
	Principals []string `json:"principals"`
	// TTLSeconds is how long the token may be used; 0 means one hour.
	TTLSeconds int64  `json:"ttl_seconds,omitempty"`
	Comment    string `json:"comment,omitempty"`
}

// JoinTokenResponse carries a new join token. The token string is shown only
// here; the CA stores its SHA-256 digest.
type JoinTokenResponse struct {
	Token      string    `json:"token"`
	ID         string    `json:"id"`
	Principals []string  `json:"principals"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// JoinToken is one entry of GET /v1/join-tokens, without the token string.
type JoinToken struct {
	ID         string    `json:"id"`
	Principals []string  `json:"principals"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Comment    string    `json:"comment,omitempty"`
	UsedAt     time.Time `json:"used_at,omitzero"`
	UsedBy     string    `json:"used_by,omitempty"`
}

// Host is one entry of GET /v1/hosts.
type Host struct {
	Identity       string    `json:"identity"`
	Principals     []string  `json:"principals"`
	HostKeys       []string  `json:"host_keys"`
	Serials        []uint64  `json:"serials"`
	EnrollmentID   string    `json:"enrollment_id"`
	EnrolledAt     time.Time `json:"enrolled_at"`
	Verifier       string    `json:"verifier"`
	EvidenceSHA256 string    `json:"evidence_sha256"`
	Simulated      bool      `json:"simulated,omitempty"`
	JoinTokenID    string    `json:"join_token_id,omitempty"`
}

// Certificate is one entry of GET /v1/certificates.
type Certificate struct {
	Serial       uint64    `json:"serial"`
	Identity     string    `json:"identity"`
	KeyID        string    `json:"key_id"`
	EnrollmentID string    `json:"enrollment_id"`
	Principals   []string  `json:"principals"`
	ValidAfter   time.Time `json:"valid_after"`
	ValidBefore  time.Time `json:"valid_before"`
	HostKey      string    `json:"host_key"`
	Certificate  string    `json:"certificate"`
	IssuedAt     time.Time `json:"issued_at"`
}

// AuditEvent is one entry of GET /v1/audit?after=SEQ&limit=N.
type AuditEvent struct {
	Seq            uint64    `json:"seq"`
	Time           time.Time `json:"time"`
	Action         string    `json:"action"`
	Source         string    `json:"source,omitempty"`
	Outcome        string    `json:"outcome"`
	Code           string    `json:"code,omitempty"`
	Reason         string    `json:"reason,omitempty"`
	Identity       string    `json:"identity,omitempty"`
	Principals     []string  `json:"principals,omitempty"`
	EnrollmentID   string    `json:"enrollment_id,omitempty"`
	Verifier       string    `json:"verifier,omitempty"`
	EvidenceSHA256 string    `json:"evidence_sha256,omitempty"`
	Simulated      bool      `json:"simulated,omitempty"`
	Serials        []uint64  `json:"serials,omitempty"`
	// Superseded are earlier certificates of the identity that an
	// enrollment revoked, because their key or principals are gone.
	Superseded []uint64 `json:"superseded,omitempty"`
	Admin      string   `json:"admin,omitempty"`
}

// RevocationRequest is the body of POST /v1/revocations. Exactly one of
// Serial, HostKey and Identity is set. Revoking an identity revokes its
// current keys and certificates and frees its principals.
type RevocationRequest struct {
	Serial   uint64 `json:"serial,omitempty"`
	HostKey  string `json:"host_key,omitempty"` // authorized_keys line
	Identity string `json:"identity,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// RevocationResponse lists what a revocation covered.
type RevocationResponse struct {
	Serials  []uint64 `json:"serials,omitempty"`
	HostKeys []string `json:"host_keys,omitempty"`
}
