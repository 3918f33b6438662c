package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// MaxPendingChallenges bounds the challenges kept at once, because anyone may
// ask for one. PutChallenge fails with ErrTooManyPending beyond it.
const MaxPendingChallenges = 10000

// PutChallenge stores a new nonce that expires at expiresAt.
func (s *Store) PutChallenge(nonce []byte, expiresAt time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketChallenges)
		if b.Stats().KeyN >= MaxPendingChallenges {
			return ErrTooManyPending
		}
		if b.Get(nonce) != nil {
			return fmt.Errorf("put challenge: nonce already exists")
		}
		return put(b, nonce, Challenge{ExpiresAt: expiresAt.UTC()})
	})
}

// BurnChallenge marks nonce as used if it is known, unused and not expired at
// now, in one transaction. It returns ErrChallengeUnknown, ErrChallengeUsed or
// ErrChallengeExpired otherwise. A challenge is expired from its ExpiresAt on.
func (s *Store) BurnChallenge(nonce []byte, now time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		var c Challenge
		ok, err := get(tx, bucketChallenges, nonce, &c)
		switch {
		case err != nil:
			return err
		case !ok:
			return ErrChallengeUnknown
		case !c.UsedAt.IsZero():
			return ErrChallengeUsed
		case !now.Before(c.ExpiresAt):
			return ErrChallengeExpired
		}
		c.UsedAt = now.UTC()
		return put(tx.Bucket(bucketChallenges), nonce, c)
	})
}

// SweepChallenges deletes every challenge, used or not, that expired at or
// before now, and returns how many it deleted. Undecodable records go too.
func (s *Store) SweepChallenges(now time.Time) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketChallenges)
		var expired [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var c Challenge
			if json.Unmarshal(v, &c) != nil || !now.Before(c.ExpiresAt) {
				expired = append(expired, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range expired {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(expired)
		return nil
	})
	return n, err
}
