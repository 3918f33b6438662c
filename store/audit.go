package store

import (
	"encoding/binary"
	"encoding/json"

	bolt "go.etcd.io/bbolt"
)

// AppendAudit appends ev to the audit log and returns it with its sequence
// number. Events are never changed or deleted.
func (s *Store) AppendAudit(ev Event) (Event, error) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		ev, err = appendAudit(tx, ev)
		return err
	})
	return ev, err
}

func appendAudit(tx *bolt.Tx, ev Event) (Event, error) {
	b := tx.Bucket(bucketAudit)
	seq, err := b.NextSequence()
	if err != nil {
		return ev, err
	}
	ev.Seq = seq
	ev.Time = ev.Time.UTC()
	return ev, put(b, serialKey(seq), ev)
}

// Audit returns up to limit events with a sequence number greater than
// after, oldest first. A limit of 0 or less means no limit.
func (s *Store) Audit(after uint64, limit int) ([]Event, error) {
	var out []Event
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Seek(serialKey(after + 1)); k != nil; k, v = c.Next() {
			if limit > 0 && len(out) >= limit {
				break
			}
			var ev Event
			if err := json.Unmarshal(v, &ev); err != nil {
				return err
			}
			if binary.BigEndian.Uint64(k) != ev.Seq {
				return errSeqMismatch(k, ev.Seq)
			}
			out = append(out, ev)
		}
		return nil
	})
	return out, err
}
