package binding

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"testing"
	"time"
)

func TestEnrollEncoding(t *testing.T) {
	got := Enroll([]byte{1, 2}, [][]byte{{0xbb}, {0xaa}}, []string{"b.example", "a.example"}, nil)

	var want bytes.Buffer
	want.Write([]byte{0, 0, 0, 15})
	want.WriteString("rassh/enroll/v1")
	want.Write([]byte{0, 0, 0, 2, 1, 2})
	want.Write([]byte{0, 0, 0, 2, 0, 0, 0, 1, 0xaa, 0, 0, 0, 1, 0xbb})
	want.Write([]byte{0, 0, 0, 2, 0, 0, 0, 9})
	want.WriteString("a.example")
	want.Write([]byte{0, 0, 0, 9})
	want.WriteString("b.example")
	want.Write([]byte{0, 0, 0, 0})
	if got != sha512.Sum512(want.Bytes()) {
		t.Fatalf("Enroll = %x, want SHA-512 of %x", got, want.Bytes())
	}
}

func TestEnrollOrderIndependent(t *testing.T) {
	a := Enroll([]byte("n"), [][]byte{{1}, {2}}, []string{"x", "y"}, []byte("t"))
	b := Enroll([]byte("n"), [][]byte{{2}, {1}}, []string{"y", "x"}, []byte("t"))
	if a != b {
		t.Fatal("Enroll depends on the order of host keys or principals")
	}
}

func TestEnrollNoAmbiguity(t *testing.T) {
	// One principal "ab" must differ from two principals "a" and "b".
	a := Enroll(nil, nil, []string{"ab"}, nil)
	b := Enroll(nil, nil, []string{"a", "b"}, nil)
	if a == b {
		t.Fatal("principal lists [ab] and [a b] produce the same binding")
	}
	c := Enroll(nil, nil, nil, []byte("x"))
	d := Enroll([]byte("x"), nil, nil, nil)
	if c == d {
		t.Fatal("join-token digest and nonce are interchangeable")
	}
}

func TestPurposesDiffer(t *testing.T) {
	c := Connect(nil, nil, nil)
	e := Epoch(nil, nil, time.Unix(0, 0))
	if c == Enroll(nil, nil, nil, nil) || c == e {
		t.Fatal("bindings for different purposes collide")
	}
}

func TestConnectEncoding(t *testing.T) {
	got := Connect([]byte{9}, []byte{8, 7}, []byte{6})
	want := "0000001072617373682f636f6e6e6563742f7631" + "0000000109" + "000000020807" + "0000000106"
	raw, _ := hex.DecodeString(want)
	if got != sha512.Sum512(raw) {
		t.Fatalf("Connect encoding differs from %s", want)
	}
}

func TestEpochTimeFormat(t *testing.T) {
	at := time.Date(2026, 12, 4, 20, 1, 2, 999_000_000, time.FixedZone("X", 3600))
	if got := FormatTime(at); got != "2026-12-04T19:01:02Z" {
		t.Fatalf("FormatTime = %q, want 2026-12-04T19:01:02Z", got)
	}
	if Epoch([]byte("k"), nil, at) != Epoch([]byte("k"), nil, at.Truncate(time.Second)) {
		t.Fatal("Epoch depends on sub-second time")
	}
}

func TestParseLength(t *testing.T) {
	if _, err := Parse(make([]byte, 63)); err == nil || err.Error() != "binding: invalid length 63, expected 64 bytes" {
		t.Fatalf("Parse(63 bytes) error = %v", err)
	}
	if _, err := Parse(make([]byte, 64)); err != nil {
		t.Fatalf("Parse(64 bytes) error = %v", err)
	}
}

func TestEnrollProofDataLayout(t *testing.T) {
	var v Value
	for i := range v {
		v[i] = byte(i)
	}
	got := EnrollProofData(v)
	want := append([]byte{0, 0, 0, 19}, "rassh/enroll-pop/v1"...)
	want = append(want, 0, 0, 0, 64)
	want = append(want, v[:]...)
	if !bytes.Equal(got, want) {
		t.Fatalf("EnrollProofData = %x, want %x", got, want)
	}
}
