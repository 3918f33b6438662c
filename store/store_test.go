package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "ca.db"), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenMissingWithoutCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.db")
	_, err := Open(path, false)
	if err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("Open missing file: err = %v", err)
	}
	want := "open store " + path + ": stat " + path + `: no such file or directory; check the store path in the configuration, or run "rassh-ca init" to create a CA`
	if err.Error() != want {
		t.Errorf("Open missing file: err = %v, want %s", err, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open missing file: err = %v, want it to wrap fs.ErrNotExist", err)
	}
	if _, statErr := os.Stat(path); !errors.Is(statErr, fs.ErrNotExist) {
		t.Errorf("Open without create made %s: %v", path, statErr)
	}
}

func TestOpenRejectsOtherSchemaVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ca.db")
	s, err := Open(path, true)
	if err != nil {
		t.Fatal(err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, []byte("3"))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(path, false)
	want := `open store ` + path + `: schema version "3", this build reads version 2`
	if err == nil || err.Error() != want {
		t.Fatalf("Open: err = %v, want %s", err, want)
	}
}

func TestOpenReopensAndKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ca.db")
	s, err := Open(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutRegistration(Registration{Identity: "id1", Principals: []string{"a.example.com"}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Registration("id1")
	if err != nil || r.Principals[0] != "a.example.com" {
		t.Fatalf("Registration after reopen = %+v, %v", r, err)
	}
}

func TestOpenLockedFile(t *testing.T) {
	s := openTemp(t)
	_, err := Open(s.Path(), false)
	if err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("second Open: err = %v", err)
	}
}

func TestBurnChallenge(t *testing.T) {
	s := openTemp(t)
	nonce := []byte("nonce-1")
	if err := s.PutChallenge(nonce, t0.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.BurnChallenge([]byte("other"), t0); !errors.Is(err, ErrChallengeUnknown) {
		t.Errorf("unknown nonce: err = %v", err)
	}
	if err := s.BurnChallenge(nonce, t0); err != nil {
		t.Fatalf("first burn: %v", err)
	}
	if err := s.BurnChallenge(nonce, t0); !errors.Is(err, ErrChallengeUsed) {
		t.Errorf("replay: err = %v, want %v", err, ErrChallengeUsed)
	}
}

func TestBurnChallengeExpiryEdge(t *testing.T) {
	s := openTemp(t)
	exp := t0.Add(5 * time.Minute)
	s.PutChallenge([]byte("a"), exp)
	s.PutChallenge([]byte("b"), exp)
	if err := s.BurnChallenge([]byte("a"), exp.Add(-time.Nanosecond)); err != nil {
		t.Errorf("burn just before expiry: %v", err)
	}
	if err := s.BurnChallenge([]byte("b"), exp); !errors.Is(err, ErrChallengeExpired) {
		t.Errorf("burn at expiry: err = %v, want %v", err, ErrChallengeExpired)
	}
}

func TestSweepChallenges(t *testing.T) {
	s := openTemp(t)
	s.PutChallenge([]byte("old"), t0)
	s.PutChallenge([]byte("used"), t0.Add(time.Second))
	s.BurnChallenge([]byte("used"), t0)
	s.PutChallenge([]byte("live"), t0.Add(time.Minute))
	n, err := s.SweepChallenges(t0.Add(time.Second))
	if err != nil || n != 2 {
		t.Fatalf("SweepChallenges = %d, %v; want 2", n, err)
	}
	if err := s.BurnChallenge([]byte("old"), t0); !errors.Is(err, ErrChallengeUnknown) {
		t.Errorf("swept challenge: err = %v", err)
	}
	if err := s.BurnChallenge([]byte("live"), t0.Add(time.Second)); err != nil {
		t.Errorf("live challenge: %v", err)
	}
}

func TestPutChallengeLimit(t *testing.T) {
	s := openTemp(t)
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketChallenges)
		for i := range MaxPendingChallenges {
			if err := put(b, serialKey(uint64(i)), Challenge{ExpiresAt: t0}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutChallenge([]byte("one more"), t0); !errors.Is(err, ErrTooManyPending) {
		t.Fatalf("PutChallenge beyond limit: err = %v", err)
	}
}

func enrollment(identity string, serial uint64, principals ...string) Enrollment {
	return Enrollment{
		Host:         Host{Identity: identity, Principals: principals, Serials: []uint64{serial}},
		Certificates: []Certificate{{Serial: serial, Identity: identity, Principals: principals}},
		HostKeyBlobs: [][]byte{[]byte("key-of-" + identity)},
		Event:        Event{Time: t0, Action: "enroll", Outcome: OutcomeAccepted, Identity: identity},
		Now:          t0,
	}
}

func TestCommitEnrollmentConflict(t *testing.T) {
	s := openTemp(t)
	if _, err := s.CommitEnrollment(enrollment("id1", 1, "a.example.com")); err != nil {
		t.Fatal(err)
	}
	_, err := s.CommitEnrollment(enrollment("id2", 2, "b.example.com", "a.example.com"))
	var conflict *ConflictError
	if !errors.As(err, &conflict) || conflict.Principal != "a.example.com" || conflict.Owner != "id1" {
		t.Fatalf("conflicting enrollment: err = %v", err)
	}
	assertNothingOf(t, s, "id2", 2, "b.example.com")
}

func assertNothingOf(t *testing.T, s *Store, identity string, serial uint64, principal string) {
	t.Helper()
	if _, err := s.Host(identity); !errors.Is(err, ErrNotFound) {
		t.Errorf("host %s after failed commit: err = %v", identity, err)
	}
	if _, err := s.Certificate(serial); !errors.Is(err, ErrNotFound) {
		t.Errorf("certificate %d after failed commit: err = %v", serial, err)
	}
	if owner, _ := s.PrincipalOwner(principal); owner != "" {
		t.Errorf("principal %s owned by %q after failed commit", principal, owner)
	}
}

func TestCommitEnrollmentReplacesHost(t *testing.T) {
	s := openTemp(t)
	s.CommitEnrollment(enrollment("id1", 1, "a.example.com", "old.example.com"))
	if _, err := s.CommitEnrollment(enrollment("id1", 2, "a.example.com")); err != nil {
		t.Fatalf("re-enrollment: %v", err)
	}
	h, err := s.Host("id1")
	if err != nil || !slices.Equal(h.Serials, []uint64{2}) || !slices.Equal(h.Principals, []string{"a.example.com"}) {
		t.Fatalf("host after re-enrollment = %+v, %v", h, err)
	}
	if owner, _ := s.PrincipalOwner("old.example.com"); owner != "" {
		t.Errorf("dropped principal still owned by %q", owner)
	}
	if _, err := s.CommitEnrollment(enrollment("id2", 3, "old.example.com")); err != nil {
		t.Errorf("freed principal: %v", err)
	}
}

func TestCommitEnrollmentSerialExists(t *testing.T) {
	s := openTemp(t)
	s.CommitEnrollment(enrollment("id1", 7, "a.example.com"))
	_, err := s.CommitEnrollment(enrollment("id2", 7, "b.example.com"))
	if !errors.Is(err, ErrSerialExists) {
		t.Fatalf("duplicate serial: err = %v", err)
	}
	if _, err := s.Host("id2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("host written despite duplicate serial: %v", err)
	}
}

func TestCommitEnrollmentJoinToken(t *testing.T) {
	s := openTemp(t)
	const token = "join-token-secret"
	jt := JoinToken{ID: TokenID(token), Principals: []string{"a.example.com"}, ExpiresAt: t0.Add(time.Hour)}
	if err := s.PutJoinToken(token, jt); err != nil {
		t.Fatal(err)
	}
	e := enrollment("id1", 1, "a.example.com")
	e.JoinTokenDigest = TokenDigest(token)
	if _, err := s.CommitEnrollment(e); err != nil {
		t.Fatalf("first use: %v", err)
	}
	got, err := s.JoinToken(TokenDigest(token))
	if err != nil || got.UsedBy != "id1" || !got.UsedAt.Equal(t0) {
		t.Fatalf("token after use = %+v, %v", got, err)
	}
	e2 := enrollment("id2", 2, "b.example.com")
	e2.JoinTokenDigest = TokenDigest(token)
	if _, err := s.CommitEnrollment(e2); !errors.Is(err, ErrJoinTokenUsed) {
		t.Errorf("second use: err = %v, want %v", err, ErrJoinTokenUsed)
	}
	assertNothingOf(t, s, "id2", 2, "b.example.com")
}

func TestCommitEnrollmentJoinTokenExpiryEdge(t *testing.T) {
	s := openTemp(t)
	const token = "join-token-secret"
	s.PutJoinToken(token, JoinToken{ID: TokenID(token), ExpiresAt: t0})
	e := enrollment("id1", 1, "a.example.com")
	e.JoinTokenDigest = TokenDigest(token)
	if _, err := s.CommitEnrollment(e); !errors.Is(err, ErrJoinTokenExpired) {
		t.Fatalf("token at expiry: err = %v", err)
	}
	e.Now = t0.Add(-time.Nanosecond)
	if _, err := s.CommitEnrollment(e); err != nil {
		t.Fatalf("token just before expiry: %v", err)
	}
	e.JoinTokenDigest = TokenDigest("unknown")
	if _, err := s.CommitEnrollment(e); !errors.Is(err, ErrJoinTokenUnknown) {
		t.Errorf("unknown token: err = %v", err)
	}
}

func TestRevokeIdentityFreesPrincipalsAndRejectsKey(t *testing.T) {
	s := openTemp(t)
	s.CommitEnrollment(enrollment("id1", 1, "a.example.com"))
	err := s.db.Update(func(tx *bolt.Tx) error {
		h := Host{Identity: "id1", Principals: []string{"a.example.com"}, Serials: []uint64{1}, HostKeys: []string{"line"}}
		return put(tx.Bucket(bucketHosts), []byte("id1"), h)
	})
	if err != nil {
		t.Fatal(err)
	}
	blob := func(string) ([]byte, error) { return []byte("key-of-id1"), nil }
	if _, err := s.RevokeIdentity("id1", "stolen", t0, blob, Event{Action: "revoke"}); err != nil {
		t.Fatal(err)
	}
	serials, keys, err := s.Revocations()
	if err != nil || len(serials) != 1 || serials[0].Serial != 1 || len(keys) != 1 || keys[0].HostKey != "line" {
		t.Fatalf("Revocations = %+v, %+v, %v", serials, keys, err)
	}
	if owner, _ := s.PrincipalOwner("a.example.com"); owner != "" {
		t.Errorf("principal still owned by %q", owner)
	}

	// The revoked key is rejected under any identity.
	stolen := enrollment("id2", 2, "b.example.com")
	stolen.HostKeyBlobs = [][]byte{[]byte("key-of-id1")}
	if _, err := s.CommitEnrollment(stolen); !errors.Is(err, ErrKeyRevoked) {
		t.Errorf("enrollment of revoked key: err = %v", err)
	}
	// The revoked identity is rejected with any key.
	fresh := enrollment("id1", 3, "a.example.com")
	fresh.HostKeyBlobs = [][]byte{[]byte("new-key-of-id1")}
	if _, err := s.CommitEnrollment(fresh); !errors.Is(err, ErrIdentityRevoked) {
		t.Errorf("enrollment of revoked identity: err = %v", err)
	}
	if _, err := s.RevokeIdentity("id1", "", t0, blob, Event{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoke identity without host or registration: err = %v", err)
	}
}

func TestPutRegistrationLiftsRevocation(t *testing.T) {
	s := openTemp(t)
	reg := Registration{Identity: "id1", Principals: []string{"a.example.com"}}
	if unrevoked, err := s.PutRegistration(reg); err != nil || unrevoked {
		t.Fatalf("first PutRegistration = %v, %v", unrevoked, err)
	}
	if _, err := s.RevokeIdentity("id1", "stolen", t0, nil, Event{Action: "revoke"}); err != nil {
		t.Fatalf("revoke registered identity that never enrolled: %v", err)
	}
	r, err := s.IdentityRevoked("id1")
	if err != nil || r.Identity != "id1" || r.Reason != "stolen" || !r.RevokedAt.Equal(t0) {
		t.Fatalf("IdentityRevoked = %+v, %v", r, err)
	}
	if _, err := s.CommitEnrollment(enrollment("id1", 1, "a.example.com")); !errors.Is(err, ErrIdentityRevoked) {
		t.Fatalf("enrollment of revoked identity: err = %v", err)
	}

	if unrevoked, err := s.PutRegistration(reg); err != nil || !unrevoked {
		t.Fatalf("PutRegistration after revocation = %v, %v", unrevoked, err)
	}
	if _, err := s.IdentityRevoked("id1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("IdentityRevoked after re-registration: err = %v", err)
	}
	if _, err := s.CommitEnrollment(enrollment("id1", 1, "a.example.com")); err != nil {
		t.Errorf("enrollment after re-registration: %v", err)
	}
}

func TestOpenUpgradesSchemaVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ca.db")
	s, err := Open(path, true)
	if err != nil {
		t.Fatal(err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketRevokedIDs); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, []byte("1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(path, false)
	if err != nil {
		t.Fatalf("Open version 1: %v", err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Errorf("Check after upgrade: %v", err)
	}
	var version string
	s.db.View(func(tx *bolt.Tx) error {
		version = string(tx.Bucket(bucketMeta).Get(keySchemaVersion))
		return nil
	})
	if version != "2" {
		t.Errorf("schema version after upgrade = %q, want 2", version)
	}
}

func TestRevokeSerialUnknown(t *testing.T) {
	s := openTemp(t)
	if err := s.RevokeSerial(99, "", t0, Event{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RevokeSerial unknown: err = %v", err)
	}
}

func TestAuditAppendOnlyOrder(t *testing.T) {
	s := openTemp(t)
	for i := range 5 {
		ev, err := s.AppendAudit(Event{Action: "enroll", Outcome: OutcomeRejected, Code: string(rune('a' + i))})
		if err != nil || ev.Seq != uint64(i+1) {
			t.Fatalf("AppendAudit %d: seq %d, %v", i, ev.Seq, err)
		}
	}
	got, err := s.Audit(2, 2)
	if err != nil || len(got) != 2 || got[0].Seq != 3 || got[1].Seq != 4 || got[0].Code != "c" {
		t.Fatalf("Audit(2, 2) = %+v, %v", got, err)
	}
	all, _ := s.Audit(0, 0)
	if len(all) != 5 {
		t.Errorf("Audit(0, 0) returned %d events, want 5", len(all))
	}
}

func TestTokenIDIsDigestPrefix(t *testing.T) {
	if got := TokenID("abc"); got != "ba7816bf8f01cfea" {
		t.Fatalf("TokenID(abc) = %s", got)
	}
}

func keyedEnrollment(identity string, serial uint64, key string, principals ...string) Enrollment {
	e := enrollment(identity, serial, principals...)
	e.Host.HostKeys = []string{key + " comment-" + identity}
	e.Certificates[0].HostKey = key + " other-comment"
	e.Certificates[0].ValidBefore = e.Now.Add(8 * time.Hour)
	return e
}

func TestCommitEnrollmentSupersedesOldCertificates(t *testing.T) {
	s := openTemp(t)
	if _, err := s.CommitEnrollment(keyedEnrollment("id1", 1, "ssh-ed25519 AAAA1", "a.example.com", "b.example.com")); err != nil {
		t.Fatal(err)
	}

	// Same key and principals: a renewal revokes nothing and keeps serial 1.
	ev, err := s.CommitEnrollment(keyedEnrollment("id1", 2, "ssh-ed25519 AAAA1", "a.example.com", "b.example.com"))
	if err != nil || len(ev.Superseded) != 0 {
		t.Fatalf("renewal: superseded %v, err %v; want none", ev.Superseded, err)
	}
	if h, _ := s.Host("id1"); !slices.Equal(h.Serials, []uint64{2, 1}) {
		t.Fatalf("host serials after renewal %v, want [2 1]", h.Serials)
	}

	// Fewer principals: both certificates naming b.example.com go.
	ev, err = s.CommitEnrollment(keyedEnrollment("id1", 3, "ssh-ed25519 AAAA1", "a.example.com"))
	if err != nil || !slices.Equal(ev.Superseded, []uint64{2, 1}) {
		t.Fatalf("dropped principal: superseded %v, err %v; want [2 1]", ev.Superseded, err)
	}

	// A new key: the old key's certificate goes.
	ev, err = s.CommitEnrollment(keyedEnrollment("id1", 4, "ssh-ed25519 AAAA2", "a.example.com"))
	if err != nil || !slices.Equal(ev.Superseded, []uint64{3}) {
		t.Fatalf("new key: superseded %v, err %v; want [3]", ev.Superseded, err)
	}

	// An expired certificate is neither revoked nor kept.
	late := keyedEnrollment("id1", 5, "ssh-ed25519 AAAA3", "a.example.com")
	late.Now = t0.Add(8 * time.Hour)
	ev, err = s.CommitEnrollment(late)
	if err != nil || len(ev.Superseded) != 0 {
		t.Fatalf("after expiry: superseded %v, err %v; want none", ev.Superseded, err)
	}
	if h, _ := s.Host("id1"); !slices.Equal(h.Serials, []uint64{5}) {
		t.Errorf("host serials after expiry %v, want [5]", h.Serials)
	}

	serials, _, err := s.Revocations()
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for _, r := range serials {
		got = append(got, r.Serial)
		if r.Reason != "superseded by a new enrollment of id1" {
			t.Errorf("serial %d reason %q", r.Serial, r.Reason)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Errorf("revoked serials %v, want [1 2 3]", got)
	}
}
