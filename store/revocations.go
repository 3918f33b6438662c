package store

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Errors of enrollments that a revocation blocks.
var (
	ErrKeyRevoked      = errors.New("host key revoked")
	ErrIdentityRevoked = errors.New("host identity revoked")
)

// RevokeSerial revokes the certificate with the given serial and appends ev
// to the audit log. It returns ErrNotFound for a serial the CA never issued.
func (s *Store) RevokeSerial(serial uint64, reason string, now time.Time, ev Event) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketCertificates).Get(serialKey(serial)) == nil {
			return ErrNotFound
		}
		r := Revocation{Serial: serial, RevokedAt: now.UTC(), Reason: reason}
		if err := put(tx.Bucket(bucketRevokedSerial), serialKey(serial), r); err != nil {
			return err
		}
		_, err := appendAudit(tx, ev)
		return err
	})
}

// RevokeKey revokes a host key, given in SSH wire form and as an
// authorized_keys line, and appends ev to the audit log. The CA then neither
// signs it again nor lets clients that read the KRL accept it.
func (s *Store) RevokeKey(blob []byte, line, reason string, now time.Time, ev Event) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := revokeKey(tx, blob, line, reason, now); err != nil {
			return err
		}
		_, err := appendAudit(tx, ev)
		return err
	})
}

// RevokeIdentity blocks identity from enrolling until PutRegistration
// creates its registration again. When the identity has a host record, it
// also revokes the record's keys and certificates, deletes the record and
// frees its principals, and returns the record. It appends ev to the audit
// log. It returns ErrNotFound when the identity has neither a host record
// nor a registration. keyBlob decodes an authorized_keys line into SSH wire
// form.
func (s *Store) RevokeIdentity(identity, reason string, now time.Time, keyBlob func(line string) ([]byte, error), ev Event) (Host, error) {
	var h Host
	err := s.db.Update(func(tx *bolt.Tx) error {
		enrolled, err := get(tx, bucketHosts, []byte(identity), &h)
		if err != nil {
			return err
		}
		registered := tx.Bucket(bucketRegistrations).Get([]byte(identity)) != nil
		if !enrolled && !registered {
			return ErrNotFound
		}
		if enrolled {
			if err := revokeHost(tx, h, reason, now, keyBlob); err != nil {
				return err
			}
		}
		r := Revocation{Identity: identity, RevokedAt: now.UTC(), Reason: reason}
		if err := put(tx.Bucket(bucketRevokedIDs), []byte(identity), r); err != nil {
			return err
		}
		_, err = appendAudit(tx, ev)
		return err
	})
	return h, err
}

// revokeHost revokes the keys and certificates of h, frees its principals and
// deletes its record.
func revokeHost(tx *bolt.Tx, h Host, reason string, now time.Time, keyBlob func(line string) ([]byte, error)) error {
	for _, line := range h.HostKeys {
		blob, err := keyBlob(line)
		if err != nil {
			return fmt.Errorf("revoke host %s: %w", h.Identity, err)
		}
		if err := revokeKey(tx, blob, line, reason, now); err != nil {
			return err
		}
	}
	for _, serial := range h.Serials {
		r := Revocation{Serial: serial, RevokedAt: now.UTC(), Reason: reason}
		if err := put(tx.Bucket(bucketRevokedSerial), serialKey(serial), r); err != nil {
			return err
		}
	}
	for _, p := range h.Principals {
		if err := tx.Bucket(bucketPrincipals).Delete([]byte(p)); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketHosts).Delete([]byte(h.Identity))
}

// IdentityRevoked returns the revocation of identity, or ErrNotFound when the
// identity is not blocked.
func (s *Store) IdentityRevoked(identity string) (Revocation, error) {
	var r Revocation
	return r, s.lookup(bucketRevokedIDs, []byte(identity), &r)
}

func revokeKey(tx *bolt.Tx, blob []byte, line, reason string, now time.Time) error {
	r := Revocation{HostKey: line, RevokedAt: now.UTC(), Reason: reason}
	return put(tx.Bucket(bucketRevokedKeys), keyDigest(blob), r)
}

func identityRevoked(tx *bolt.Tx, identity string) bool {
	return tx.Bucket(bucketRevokedIDs).Get([]byte(identity)) != nil
}

func keyRevoked(tx *bolt.Tx, blob []byte) bool {
	return tx.Bucket(bucketRevokedKeys).Get(keyDigest(blob)) != nil
}

// Revocations lists the revoked serials and the revoked keys.
func (s *Store) Revocations() (serials []Revocation, keys []Revocation, err error) {
	serials, err = list[Revocation](s, bucketRevokedSerial)
	if err != nil {
		return nil, nil, err
	}
	keys, err = list[Revocation](s, bucketRevokedKeys)
	return serials, keys, err
}
