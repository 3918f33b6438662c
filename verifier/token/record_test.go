package token_test

import (
	"context"
	"testing"
	"time"

	"github.com/rassh/rassh/verifier/token"
)

func TestVerifyRecordFields(t *testing.T) {
	li := newLocalIssuer(t)
	raw := li.sign(t, li.claims(), nil)
	_, record, err := li.verifier().VerifyRecord(context.Background(), raw, "h.example.com")
	if err != nil {
		t.Fatal(err)
	}
	want := token.Record{Issuer: li.url, JWKSURL: li.server.URL + "/certs", Kind: token.KindMAA, Alg: "RS256",
		IssuedAt: testNow, ExpiresAt: testNow.Add(8 * time.Hour), NotBefore: testNow}
	if record != want {
		t.Errorf("record = %+v, want %+v", record, want)
	}
}

func TestVerifyRecordRejected(t *testing.T) {
	li := newLocalIssuer(t)
	raw := li.sign(t, li.claims(), nil)
	claims, record, err := li.verifier().VerifyRecord(context.Background(), raw, "h.other.org")
	wantRejected(t, err, token.CheckHostScope)
	if claims != nil || record != (token.Record{}) {
		t.Errorf("claims %v record %+v, want none on rejection", claims, record)
	}
}

// recordAt returns the record of a fresh token from li, verified at testNow.
func recordAt(t *testing.T, li *localIssuer) token.Record {
	t.Helper()
	raw := li.sign(t, li.claims(), nil)
	_, record, err := li.verifier().VerifyRecord(context.Background(), raw, "h.example.com")
	if err != nil {
		t.Fatal(err)
	}
	return record
}

func TestRecheckTimes(t *testing.T) {
	li := newLocalIssuer(t)
	record := recordAt(t, li)
	v := li.verifier()
	longLived := li.verifier()
	longLived.MaxAge = 24 * time.Hour
	exp := testNow.Add(8 * time.Hour)
	notBefore := record
	notBefore.NotBefore = testNow.Add(2 * time.Minute)
	noExp := record
	noExp.ExpiresAt = time.Time{}
	noIat := record
	noIat.IssuedAt = time.Time{}

	cases := []struct {
		name   string
		v      *token.Verifier
		record token.Record
		now    time.Time
		check  string // "" means accepted
	}{
		{"at iat", v, record, testNow, ""},
		{"age at max plus leeway", v, record, testNow.Add(11 * time.Minute), ""},
		{"age beyond max plus leeway", v, record, testNow.Add(11*time.Minute + time.Second), token.CheckAge},
		{"iat within leeway", v, record, testNow.Add(-time.Minute), ""},
		{"iat beyond leeway", v, record, testNow.Add(-time.Minute - time.Second), token.CheckNotYetValid},
		{"before exp plus leeway", longLived, record, exp.Add(time.Minute - time.Second), ""},
		{"at exp plus leeway", longLived, record, exp.Add(time.Minute), token.CheckExpired},
		{"nbf beyond leeway", v, notBefore, testNow, token.CheckNotYetValid},
		{"nbf within leeway", v, notBefore, testNow.Add(time.Minute), ""},
		{"no exp", v, noExp, testNow, token.CheckExpired},
		{"no iat", v, noIat, testNow, token.CheckAge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.v.Recheck(c.record, "h.example.com", c.now)
			if c.check == "" {
				if err != nil {
					t.Fatalf("Recheck: %v, want accepted", err)
				}
				return
			}
			wantRejected(t, err, c.check)
		})
	}
}

func TestRecheckConfiguration(t *testing.T) {
	li := newLocalIssuer(t)
	record := recordAt(t, li)

	otherKeySet := li.config()
	otherKeySet.JWKSURL = li.server.URL + "/other"
	otherAlg := record
	otherAlg.Alg = "ES256"
	// The same issuer, key set and alg, but its claims are now mapped as a
	// rassh token's, so a token accepted as MAA must be verified again.
	otherKind := li.config()
	otherKind.Kind = token.KindRassh
	otherKind.Algorithms = []string{"RS256"}

	cases := []struct {
		name    string
		issuers []token.IssuerConfig
		record  token.Record
		host    string
		check   string // "" means accepted
	}{
		{"same configuration", []token.IssuerConfig{li.config()}, record, "h.example.com", ""},
		{"no host scoping", []token.IssuerConfig{li.config()}, record, "", ""},
		{"host out of scope", []token.IssuerConfig{li.config()}, record, "h.other.org", token.CheckHostScope},
		{"issuer removed", nil, record, "h.example.com", token.CheckIssuer},
		{"key set URL changed", []token.IssuerConfig{otherKeySet}, record, "h.example.com", token.CheckIssuer},
		{"alg not accepted", []token.IssuerConfig{li.config()}, otherAlg, "h.example.com", token.CheckAlg},
		{"kind changed", []token.IssuerConfig{otherKind}, record, "h.example.com", token.CheckIssuer},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := &token.Verifier{Issuers: c.issuers}
			err := v.Recheck(c.record, c.host, testNow)
			if c.check == "" {
				if err != nil {
					t.Fatalf("Recheck: %v, want accepted", err)
				}
				return
			}
			wantRejected(t, err, c.check)
		})
	}
}
