package ca

import (
	"errors"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/ca/catest"
	"github.com/rassh/rassh/store"
)

func TestEnrollRegisteredHost(t *testing.T) {
	h := newHarness(t)
	td := catest.NewTD(h.sim, 0x11)
	h.register(td.Identity(), "host1.example.com", "alias.example.com")
	k1, _ := catest.HostKey()
	k2, _ := catest.HostKey()

	res, err := h.enroll(h.request(td, []ssh.PublicKey{k1, k2}, nil, ""))
	if err != nil {
		t.Fatalf("Enroll: %v", err)
	}
	if len(res.Response.Certificates) != 2 {
		t.Fatalf("got %d certificates, want 2", len(res.Response.Certificates))
	}
	for i, key := range []ssh.PublicKey{k1, k2} {
		c := parseCert(t, res.Response.Certificates[i])
		if string(c.Key.Marshal()) != string(key.Marshal()) {
			t.Errorf("certificate %d certifies another key", i)
		}
		if c.CertType != ssh.HostCert {
			t.Errorf("certificate %d type %d, want host", i, c.CertType)
		}
		if want := []string{"alias.example.com", "host1.example.com"}; !slices.Equal(c.ValidPrincipals, want) {
			t.Errorf("principals %q, want %q", c.ValidPrincipals, want)
		}
		if want := "rassh:host=alias.example.com:enrollment=" + res.EnrollmentID; c.KeyId != want {
			t.Errorf("key ID %q, want %q", c.KeyId, want)
		}
		if c.Serial == 0 || c.Serial != res.Serials[i] {
			t.Errorf("serial %d, result serials %v", c.Serial, res.Serials)
		}
		if len(c.CriticalOptions) != 0 {
			t.Errorf("critical options %v", c.CriticalOptions)
		}
		ext, err := ParseExtension([]byte(c.Extensions[ExtensionName]))
		if err != nil {
			t.Fatalf("extension: %v", err)
		}
		want := Extension{Verifier: "local", EvidenceSHA256: res.Event.EvidenceSHA256, Simulated: true}
		if *ext != want {
			t.Errorf("extension %+v, want %+v", *ext, want)
		}
	}

	ev := h.lastEvent()
	if ev.Outcome != store.OutcomeAccepted || ev.Identity != res.Identity || ev.Source != "192.0.2.1:4242" ||
		!slices.Equal(ev.Serials, res.Serials) || ev.EvidenceSHA256 == "" || ev.Verifier != "local" {
		t.Errorf("audit event %+v", ev)
	}
	host, err := h.store.Host(res.Identity)
	if err != nil || !slices.Equal(host.Serials, res.Serials) || len(host.HostKeys) != 2 {
		t.Errorf("host record %+v, %v", host, err)
	}
}

func TestEnrollValidityEdges(t *testing.T) {
	h := newHarness(t)
	h.now = t0.Add(1500 * time.Millisecond) // sub-second part is dropped
	h.auth.Lifetime = 2 * time.Hour
	h.auth.Backdate = 90 * time.Second
	td := catest.NewTD(h.sim, 0x11)
	h.register(td.Identity(), "host1.example.com")
	k, _ := catest.HostKey()

	res, err := h.enroll(h.request(td, []ssh.PublicKey{k}, nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	c := parseCert(t, res.Response.Certificates[0])
	issued := t0.Add(time.Second)
	if got, want := time.Unix(int64(c.ValidAfter), 0), issued.Add(-90*time.Second); !got.Equal(want) {
		t.Errorf("valid after %s, want %s", got.UTC(), want)
	}
	if got, want := time.Unix(int64(c.ValidBefore), 0), issued.Add(2*time.Hour); !got.Equal(want) {
		t.Errorf("valid before %s, want %s", got.UTC(), want)
	}
	if !res.Response.ValidBefore.Equal(issued.Add(2 * time.Hour)) {
		t.Errorf("response valid before %s", res.Response.ValidBefore)
	}

	for _, tc := range []struct {
		at    time.Time
		valid bool
	}{
		{issued.Add(-90*time.Second - time.Second), false},
		{issued.Add(-90 * time.Second), true},
		{issued.Add(2*time.Hour - time.Second), true},
		{issued.Add(2 * time.Hour), false},
	} {
		checker := ssh.CertChecker{Clock: func() time.Time { return tc.at }}
		err := checker.CheckCert("host1.example.com", c)
		if (err == nil) != tc.valid {
			t.Errorf("at %s: CheckCert err = %v, want valid %v", tc.at, err, tc.valid)
		}
	}
}

func TestEnrollDefaultValidity(t *testing.T) {
	h := newHarness(t)
	td := catest.NewTD(h.sim, 0x11)
	h.register(td.Identity(), "host1.example.com")
	k, _ := catest.HostKey()
	res, err := h.enroll(h.request(td, []ssh.PublicKey{k}, nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	c := parseCert(t, res.Response.Certificates[0])
	if got := time.Unix(int64(c.ValidAfter), 0); !got.Equal(t0.Add(-5 * time.Minute)) {
		t.Errorf("valid after %s, want 5 minutes before %s", got.UTC(), t0)
	}
	if got := time.Unix(int64(c.ValidBefore), 0); !got.Equal(t0.Add(8 * time.Hour)) {
		t.Errorf("valid before %s, want 8 hours after %s", got.UTC(), t0)
	}
}

func TestEnrollRSACASignsWithSHA512(t *testing.T) {
	h := newHarness(t)
	key, err := GenerateKey(KeyRSA3072)
	if err != nil {
		t.Fatal(err)
	}
	if h.auth.Signer, err = NewSigner(key); err != nil {
		t.Fatal(err)
	}
	td := catest.NewTD(h.sim, 0x11)
	h.register(td.Identity(), "host1.example.com")
	k, _ := catest.HostKey()
	res, err := h.enroll(h.request(td, []ssh.PublicKey{k}, nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	if f := parseCert(t, res.Response.Certificates[0]).Signature.Format; f != ssh.KeyAlgoRSASHA512 {
		t.Fatalf("signature format %s, want %s", f, ssh.KeyAlgoRSASHA512)
	}
}

func TestEnrollJoinTokenWithoutIdentity(t *testing.T) {
	h := newHarness(t)
	td := catest.NewTD(h.sim, 0)
	h.joinToken("tok-1", time.Hour, "web1.example.com")
	k, _ := catest.HostKey()
	res, err := h.enroll(h.request(td, []ssh.PublicKey{k}, nil, "tok-1"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "join:" + store.TokenID("tok-1"); res.Identity != want {
		t.Errorf("identity %q, want %q", res.Identity, want)
	}
	jt, _ := h.store.JoinToken(store.TokenDigest("tok-1"))
	if jt.UsedBy != res.Identity {
		t.Errorf("token used by %q", jt.UsedBy)
	}
	// Without an attested identity there is nothing to renew as.
	_, err = h.enroll(h.request(td, []ssh.PublicKey{k}, nil, ""))
	assertCode(t, err, CodeNotAuthorized)
}

func TestEnrollJoinTokenBindsIdentityForRenewal(t *testing.T) {
	h := newHarness(t)
	td := catest.NewTD(h.sim, 0x22)
	h.joinToken("tok-2", time.Hour, "web2.example.com")
	k1, _ := catest.HostKey()
	if _, err := h.enroll(h.request(td, []ssh.PublicKey{k1}, nil, "tok-2")); err != nil {
		t.Fatal(err)
	}
	k2, _ := catest.HostKey()
	res, err := h.enroll(h.request(td, []ssh.PublicKey{k2}, nil, ""))
	if err != nil {
		t.Fatalf("renewal with a new key: %v", err)
	}
	host, _ := h.store.Host(td.Identity())
	if len(host.HostKeys) != 1 || host.HostKeys[0] != AuthorizedLine(k2) || host.JoinTokenID != store.TokenID("tok-2") {
		t.Errorf("host after renewal %+v", host)
	}
	if !slices.Equal(res.Response.Principals, []string{"web2.example.com"}) {
		t.Errorf("principals %q", res.Response.Principals)
	}
}

// A join token lets its host renew with the token's principals, never with
// principals a registration added later and an admin then deleted.
func TestEnrollDeletedRegistrationEndsRenewal(t *testing.T) {
	h := newHarness(t)
	td := catest.NewTD(h.sim, 0x23)
	h.joinToken("tok-3", time.Hour, "web3.example.com")
	k, _ := catest.HostKey()
	if _, err := h.enroll(h.request(td, []ssh.PublicKey{k}, nil, "tok-3")); err != nil {
		t.Fatal(err)
	}
	h.register(td.Identity(), "web3.example.com", "db.example.com")
	if _, err := h.enroll(h.request(td, []ssh.PublicKey{k}, nil, "")); err != nil {
		t.Fatalf("enrollment by registration: %v", err)
	}
	if err := h.store.DeleteRegistration(td.Identity()); err != nil {
		t.Fatal(err)
	}

	res, err := h.enroll(h.request(td, []ssh.PublicKey{k}, nil, ""))
	if err == nil {
		t.Fatalf("renewal after the registration was deleted got principals %q", res.Response.Principals)
	}
	assertCode(t, err, CodeNotAuthorized)
}

func TestEnrollRetriesSerialCollision(t *testing.T) {
	h := newHarness(t)
	fs := &collidingStore{Store: h.store}
	h.auth.Store = fs
	td := catest.NewTD(h.sim, 0x11)
	h.register(td.Identity(), "host1.example.com")
	k, _ := catest.HostKey()
	res, err := h.enroll(h.request(td, []ssh.PublicKey{k}, nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	if fs.calls != 2 || res.Serials[0] == fs.first {
		t.Errorf("commits %d, serial %d after rejected serial %d", fs.calls, res.Serials[0], fs.first)
	}
}

// collidingStore rejects the first commit as if its serial were taken.
type collidingStore struct {
	*store.Store
	calls int
	first uint64
}

func (s *collidingStore) CommitEnrollment(e store.Enrollment) (store.Event, error) {
	s.calls++
	if s.calls == 1 {
		s.first = e.Certificates[0].Serial
		return store.Event{}, store.ErrSerialExists
	}
	return s.Store.CommitEnrollment(e)
}

func assertCode(t *testing.T, err error, code string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *ca.Error with code %s", err, code)
	}
	if e.Code != code {
		t.Fatalf("code %s (%v), want %s", e.Code, e, code)
	}
}
