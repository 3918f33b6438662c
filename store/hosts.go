package store

import (
	"crypto/sha256"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// PutRegistration creates or replaces the registration of r.Identity. It
// also lifts a revocation of the identity, which is how an admin allows a
// revoked identity to enroll again, and reports whether there was one.
func (s *Store) PutRegistration(r Registration) (unrevoked bool, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		revoked := tx.Bucket(bucketRevokedIDs)
		if revoked.Get([]byte(r.Identity)) != nil {
			unrevoked = true
			if err := revoked.Delete([]byte(r.Identity)); err != nil {
				return err
			}
		}
		return put(tx.Bucket(bucketRegistrations), []byte(r.Identity), r)
	})
	return unrevoked, err
}

// DeleteRegistration deletes the registration of identity, or returns
// ErrNotFound.
func (s *Store) DeleteRegistration(identity string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRegistrations)
		if b.Get([]byte(identity)) == nil {
			return ErrNotFound
		}
		return b.Delete([]byte(identity))
	})
}

// Registration returns the registration of identity, or ErrNotFound.
func (s *Store) Registration(identity string) (Registration, error) {
	var r Registration
	return r, s.lookup(bucketRegistrations, []byte(identity), &r)
}

// Registrations lists all registrations.
func (s *Store) Registrations() ([]Registration, error) {
	return list[Registration](s, bucketRegistrations)
}

// Host returns the host record of identity, or ErrNotFound.
func (s *Store) Host(identity string) (Host, error) {
	var h Host
	return h, s.lookup(bucketHosts, []byte(identity), &h)
}

// Hosts lists all host records.
func (s *Store) Hosts() ([]Host, error) { return list[Host](s, bucketHosts) }

// Certificate returns the certificate with the given serial, or ErrNotFound.
func (s *Store) Certificate(serial uint64) (Certificate, error) {
	var c Certificate
	return c, s.lookup(bucketCertificates, serialKey(serial), &c)
}

// Certificates lists all issued certificates in serial order.
func (s *Store) Certificates() ([]Certificate, error) {
	return list[Certificate](s, bucketCertificates)
}

func (s *Store) lookup(bucket, key []byte, v any) error {
	return s.db.View(func(tx *bolt.Tx) error {
		ok, err := get(tx, bucket, key, v)
		if err == nil && !ok {
			err = ErrNotFound
		}
		return err
	})
}

// Enrollment is everything one accepted enrollment writes.
type Enrollment struct {
	Host         Host
	Certificates []Certificate
	// HostKeyBlobs are the SSH wire forms of the certified keys, checked
	// against the revoked keys.
	HostKeyBlobs [][]byte
	// JoinTokenDigest is the digest of the join token to burn, nil when none.
	JoinTokenDigest []byte
	Event           Event
	Now             time.Time
}

// CommitEnrollment burns the join token and checks that no principal is bound
// to another identity, that no host key is revoked and that every serial is
// new. Then it replaces the host record, indexes its principals, records the
// certificates and appends the audit event. All of it runs in one
// transaction, so either all of it is written or none.
//
// It fails with an ErrJoinToken* error, ErrIdentityRevoked, *ConflictError,
// ErrKeyRevoked or ErrSerialExists, and then writes nothing.
func (s *Store) CommitEnrollment(e Enrollment) (Event, error) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if e.JoinTokenDigest != nil {
			if _, err := burnJoinToken(tx, e.JoinTokenDigest, e.Host.Identity, e.Now); err != nil {
				return err
			}
		}
		if err := checkEnrollment(tx, e); err != nil {
			return err
		}
		superseded, kept, err := supersedeCertificates(tx, e.Host, e.Now)
		if err != nil {
			return err
		}
		e.Event.Superseded = superseded
		e.Host.Serials = append(e.Host.Serials, kept...)
		if err := replaceHost(tx, e.Host); err != nil {
			return err
		}
		for _, c := range e.Certificates {
			if err := put(tx.Bucket(bucketCertificates), serialKey(c.Serial), c); err != nil {
				return err
			}
		}
		e.Event, err = appendAudit(tx, e.Event)
		return err
	})
	return e.Event, err
}

// supersedeCertificates revokes the earlier certificates of h's identity
// that the new enrollment does not carry forward: those of a host key that h
// no longer has, and those naming a principal that h no longer has. It
// returns the revoked serials, and the serials of the others that are still
// valid at now, which the host record keeps so that a later enrollment or an
// identity revocation covers them too. A renewal with the same keys and
// principals therefore revokes nothing.
func supersedeCertificates(tx *bolt.Tx, h Host, now time.Time) (revoked, kept []uint64, err error) {
	var old Host
	found, err := get(tx, bucketHosts, []byte(h.Identity), &old)
	if err != nil || !found {
		return nil, nil, err
	}
	keys := make(map[string]bool, len(h.HostKeys))
	for _, line := range h.HostKeys {
		keys[keyFields(line)] = true
	}
	for _, serial := range old.Serials {
		var c Certificate
		ok, err := get(tx, bucketCertificates, serialKey(serial), &c)
		if err != nil {
			return nil, nil, err
		}
		if !ok || !now.Before(c.ValidBefore) {
			continue
		}
		if keys[keyFields(c.HostKey)] && subset(c.Principals, h.Principals) {
			kept = append(kept, serial)
			continue
		}
		r := Revocation{Serial: serial, RevokedAt: now.UTC(), Reason: "superseded by a new enrollment of " + h.Identity}
		if err := put(tx.Bucket(bucketRevokedSerial), serialKey(serial), r); err != nil {
			return nil, nil, err
		}
		revoked = append(revoked, serial)
	}
	return revoked, kept, nil
}

// keyFields returns the key type and base64 blob of an authorized_keys line,
// without its comment.
func keyFields(line string) string {
	fields := strings.Fields(line)
	if len(fields) < 2 {
		return line
	}
	return fields[0] + " " + fields[1]
}

func subset(items, of []string) bool {
	for _, it := range items {
		if !slices.Contains(of, it) {
			return false
		}
	}
	return true
}

func checkEnrollment(tx *bolt.Tx, e Enrollment) error {
	if identityRevoked(tx, e.Host.Identity) {
		return ErrIdentityRevoked
	}
	index := tx.Bucket(bucketPrincipals)
	for _, p := range e.Host.Principals {
		if owner := index.Get([]byte(p)); owner != nil && string(owner) != e.Host.Identity {
			return &ConflictError{Principal: p, Owner: string(owner)}
		}
	}
	for _, blob := range e.HostKeyBlobs {
		if keyRevoked(tx, blob) {
			return ErrKeyRevoked
		}
	}
	for _, c := range e.Certificates {
		if tx.Bucket(bucketCertificates).Get(serialKey(c.Serial)) != nil {
			return ErrSerialExists
		}
	}
	return nil
}

// replaceHost writes h over the previous record of its identity and moves the
// principal index from the old principals to the new ones.
func replaceHost(tx *bolt.Tx, h Host) error {
	index := tx.Bucket(bucketPrincipals)
	var old Host
	if _, err := get(tx, bucketHosts, []byte(h.Identity), &old); err != nil {
		return err
	}
	for _, p := range old.Principals {
		if !slices.Contains(h.Principals, p) {
			if err := index.Delete([]byte(p)); err != nil {
				return err
			}
		}
	}
	for _, p := range h.Principals {
		if err := index.Put([]byte(p), []byte(h.Identity)); err != nil {
			return err
		}
	}
	return put(tx.Bucket(bucketHosts), []byte(h.Identity), h)
}

// PrincipalOwner returns the identity a principal is bound to, or "".
func (s *Store) PrincipalOwner(principal string) (string, error) {
	var owner string
	err := s.db.View(func(tx *bolt.Tx) error {
		owner = string(tx.Bucket(bucketPrincipals).Get([]byte(principal)))
		return nil
	})
	return owner, err
}

func keyDigest(blob []byte) []byte {
	d := sha256.Sum256(blob)
	return d[:]
}
