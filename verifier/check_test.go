package verifier

import (
	"bytes"
	"errors"
	"testing"

	"github.com/rassh/rassh/verifier/binding"
)

func TestCheckBinding(t *testing.T) {
	want := binding.Connect([]byte("nonce"), []byte("session"), []byte("key"))
	c := &Claims{UserData: bytes.Clone(want[:])}
	if err := CheckBinding(c, want); err != nil {
		t.Fatalf("matching binding: %v", err)
	}

	other := binding.Connect([]byte("other nonce"), []byte("session"), []byte("key"))
	err := CheckBinding(c, other)
	wantMsg := "rejected: binding: user data " + HexBytes(want[:]).String() +
		" does not match the expected binding " + HexBytes(other[:]).String()
	if err == nil || err.Error() != wantMsg {
		t.Fatalf("error = %v\nwant    %s", err, wantMsg)
	}
	var rejected *RejectedError
	if !errors.As(err, &rejected) || rejected.Check != "binding" {
		t.Fatalf("error %#v is not a *RejectedError with Check binding", err)
	}
}

func TestCheckBindingShortUserData(t *testing.T) {
	want := binding.Connect(nil, nil, nil)
	err := CheckBinding(&Claims{UserData: want[:32]}, want)
	if err == nil || !IsRejected(err) {
		t.Fatalf("32-byte user data: error = %v, want a rejection", err)
	}
	if err := CheckBinding(nil, want); err == nil || err.Error() != "rejected: binding: no claims" {
		t.Fatalf("nil claims: error = %v", err)
	}
}
