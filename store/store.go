// Package store persists the CA's state in one bbolt file: challenges, join
// tokens, admin tokens, registrations, hosts, certificates, revocations and
// the append-only audit log.
//
// Every operation that reads, checks and changes a record runs in a single
// bbolt update transaction. So a one-time value (a challenge nonce, a join
// token) is burned exactly once, and a process killed mid-operation leaves the
// file as it was before the transaction or after it, never in between.
package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout version this build reads and writes. Open
// upgrades a version 1 file (which lacks the revoked_identities bucket) and
// rejects any other version.
const SchemaVersion = 2

// Bucket names.
var (
	bucketMeta          = []byte("meta")
	bucketChallenges    = []byte("challenges")
	bucketJoinTokens    = []byte("join_tokens")
	bucketAdminTokens   = []byte("admin_tokens")
	bucketRegistrations = []byte("registrations")
	bucketHosts         = []byte("hosts")
	bucketPrincipals    = []byte("principals")
	bucketCertificates  = []byte("certificates")
	bucketRevokedSerial = []byte("revoked_serials")
	bucketRevokedKeys   = []byte("revoked_keys")
	bucketRevokedIDs    = []byte("revoked_identities")
	bucketAudit         = []byte("audit")

	allBuckets = [][]byte{
		bucketMeta, bucketChallenges, bucketJoinTokens, bucketAdminTokens,
		bucketRegistrations, bucketHosts, bucketPrincipals, bucketCertificates,
		bucketRevokedSerial, bucketRevokedKeys, bucketRevokedIDs, bucketAudit,
	}

	keySchemaVersion = []byte("schema_version")
)

// lockTimeout bounds the wait for bbolt's file lock, which a running
// "rassh-ca serve" holds for as long as it runs.
const lockTimeout = time.Second

// Store is an open bbolt store. It is safe for concurrent use.
type Store struct {
	db *bolt.DB
}

// Open opens the store at path, creating it with mode 0600 when create is
// true and it does not exist. It checks the schema version.
func Open(path string, create bool) (*Store, error) {
	if !create {
		if err := mustExist(path); err != nil {
			return nil, err
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: file is locked by another process (is rassh-ca serve running?)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{db: db}
	if err := s.db.Update(s.initSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// Close closes the underlying file.
func (s *Store) Close() error { return s.db.Close() }

// Path returns the file name of the store.
func (s *Store) Path() string { return s.db.Path() }

// Check verifies that the file is readable and has every bucket, for
// readiness probes.
func (s *Store) Check() error {
	return s.db.View(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil {
				return fmt.Errorf("store: bucket %s missing", name)
			}
		}
		return nil
	})
}

func (s *Store) initSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta = tx.Bucket(bucketMeta)
		return meta.Put(keySchemaVersion, []byte(strconv.Itoa(SchemaVersion)))
	}
	got := string(meta.Get(keySchemaVersion))
	if got == "1" {
		// Version 2 only adds the revoked_identities bucket.
		if _, err := tx.CreateBucketIfNotExists(bucketRevokedIDs); err != nil {
			return err
		}
		if err := meta.Put(keySchemaVersion, []byte(strconv.Itoa(SchemaVersion))); err != nil {
			return err
		}
		got = strconv.Itoa(SchemaVersion)
	}
	if got != strconv.Itoa(SchemaVersion) {
		return fmt.Errorf("schema version %q, this build reads version %d", got, SchemaVersion)
	}
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("schema version %d but bucket %s missing", SchemaVersion, name)
		}
	}
	return nil
}

func serialKey(serial uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, serial)
}

func put(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// get decodes the record at key of bucket name into v and reports whether it
// exists.
func get(tx *bolt.Tx, name, key []byte, v any) (bool, error) {
	data := tx.Bucket(name).Get(key)
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("store: corrupt record %x in %s: %w", key, name, err)
	}
	return true, nil
}

// list decodes every value of bucket name into a slice of T, in key order.
func list[T any](s *Store, name []byte) ([]T, error) {
	var out []T
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(name).ForEach(func(k, v []byte) error {
			var item T
			if err := json.Unmarshal(v, &item); err != nil {
				return fmt.Errorf("store: corrupt record %x in %s: %w", k, name, err)
			}
			out = append(out, item)
			return nil
		})
	})
	return out, err
}
