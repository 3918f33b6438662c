package ca

import (
	"strings"
	"testing"
)

const digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func TestParseExtension(t *testing.T) {
	ok := `{"verifier":"maa","evidence_sha256":"` + digest + `","require_ra_ssh":true}`
	e, err := ParseExtension([]byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	if *e != (Extension{Verifier: "maa", EvidenceSHA256: digest, RequireRASSH: true}) {
		t.Errorf("parsed %+v", *e)
	}
	if got := e.Marshal(); got != ok {
		t.Errorf("Marshal = %s, want %s", got, ok)
	}
}

func TestParseExtensionRejects(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{`{"verifier":"local","evidence_sha256":"` + digest + `","x":1}`, `parse rassh-attestation@rassh: json: unknown field "x"`},
		{`{"evidence_sha256":"` + digest + `"}`, `parse rassh-attestation@rassh: verifier missing`},
		{`{"verifier":"local","evidence_sha256":"abc"}`, `parse rassh-attestation@rassh: evidence_sha256 "abc" is not 64 lower-case hex digits`},
		{`{"verifier":"local","evidence_sha256":"` + strings.ToUpper(digest) + `"}`, `parse rassh-attestation@rassh: evidence_sha256 "` + strings.ToUpper(digest) + `" is not 64 lower-case hex digits`},
		{`{"verifier":"local","evidence_sha256":"` + digest + `"} {}`, `parse rassh-attestation@rassh: trailing data after the JSON object`},
		{`{"verifier":"` + strings.Repeat("a", 1100) + `"}`, `parse rassh-attestation@rassh: value is 1115 bytes, at most 1024 allowed`},
		{``, `parse rassh-attestation@rassh: EOF`},
	} {
		_, err := ParseExtension([]byte(tc.in))
		if err == nil || err.Error() != tc.err {
			t.Errorf("ParseExtension(%.40q) err = %v, want %s", tc.in, err, tc.err)
		}
	}
}

func FuzzParseExtension(f *testing.F) {
	f.Add([]byte(`{"verifier":"local","evidence_sha256":"` + digest + `","require_ra_ssh":false,"simulated":true}`))
	f.Add([]byte(`{"verifier":"maa","evidence_sha256":"` + digest + `","require_ra_ssh":true}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseExtension(b)
		if err != nil {
			return
		}
		again, err := ParseExtension([]byte(e.Marshal()))
		if err != nil || *again != *e {
			t.Fatalf("re-parse of %s: %+v, %v", e.Marshal(), again, err)
		}
	})
}
