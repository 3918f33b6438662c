// Package binding computes the 64-byte values that tie attestation evidence to
// an enrollment, a connection or an epoch key.
//
// Every value is SHA-512 over a sequence of SSH wire strings (uint32 big-endian
// length, then the bytes). A list is a uint32 count followed by its items, so
// two different inputs never encode to the same byte sequence. The first string
// is a purpose label, so a value computed for one purpose is never valid for
// another.
package binding

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"sort"
	"time"
)

// Size is the length in bytes of every binding value.
const Size = sha512.Size

// Value is one binding value.
type Value [Size]byte

// Purpose labels, the first string of each binding.
const (
	LabelEnroll  = "rassh/enroll/v1"
	LabelConnect = "rassh/connect/v1"
	LabelEpoch   = "rassh/epoch/v1"

	// LabelEnrollProof labels the data that each host key signs in an
	// enrollment to prove that the host holds its private key.
	LabelEnrollProof = "rassh/enroll-pop/v1"
)

// Enroll computes the enrollment binding. hostKeys are public keys in SSH wire
// form (never certificates); they and the principals are sorted here, so the
// caller's order does not matter. joinTokenDigest is empty when the host
// enrolls without a join token.
func Enroll(caNonce []byte, hostKeys [][]byte, principals []string, joinTokenDigest []byte) Value {
	var w writer
	w.str([]byte(LabelEnroll))
	w.str(caNonce)
	w.list(sortedBlobs(hostKeys))
	w.list(sortedStrings(principals))
	w.str(joinTokenDigest)
	return w.sum()
}

// Connect computes the per-connection binding. sessionID is the exchange hash
// H of the connection's first key exchange, never that of a rekey. hostKey is
// the server's plain public key in SSH wire form.
func Connect(clientNonce, sessionID, hostKey []byte) Value {
	var w writer
	w.str([]byte(LabelConnect))
	w.str(clientNonce)
	w.str(sessionID)
	w.str(hostKey)
	return w.sum()
}

// Epoch computes the binding of an epoch key. kAtt is the Ed25519 epoch key in
// SSH wire form. notAfter is encoded as RFC 3339 in UTC with whole seconds, so
// its sub-second part is dropped.
func Epoch(kAtt []byte, hostKeys [][]byte, notAfter time.Time) Value {
	var w writer
	w.str([]byte(LabelEpoch))
	w.str(kAtt)
	w.list(sortedBlobs(hostKeys))
	w.str([]byte(FormatTime(notAfter)))
	return w.sum()
}

// EnrollProofData returns the bytes that each host key signs to prove
// possession in the enrollment whose binding value is v: LabelEnrollProof
// and the 64 bytes of v, each as an SSH wire string. It is not hashed
// here, because the signature algorithm hashes it.
func EnrollProofData(v Value) []byte {
	var w writer
	w.str([]byte(LabelEnrollProof))
	w.str(v[:])
	return w.buf.Bytes()
}

// FormatTime renders t as the binding encodes it: RFC 3339, UTC, whole seconds.
func FormatTime(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z")
}

// Parse returns the binding value held in b, which must be exactly Size bytes.
func Parse(b []byte) (Value, error) {
	var v Value
	if len(b) != Size {
		return v, fmt.Errorf("binding: invalid length %d, expected %d bytes", len(b), Size)
	}
	copy(v[:], b)
	return v, nil
}

type writer struct{ buf bytes.Buffer }

func (w *writer) u32(n int) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(n))
	w.buf.Write(b[:])
}

func (w *writer) str(b []byte) {
	w.u32(len(b))
	w.buf.Write(b)
}

func (w *writer) list(items [][]byte) {
	w.u32(len(items))
	for _, it := range items {
		w.str(it)
	}
}

func (w *writer) sum() Value { return sha512.Sum512(w.buf.Bytes()) }

func sortedBlobs(in [][]byte) [][]byte {
	out := make([][]byte, len(in))
	copy(out, in)
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i], out[j]) < 0 })
	return out
}

func sortedStrings(in []string) [][]byte {
	s := append([]string(nil), in...)
	sort.Strings(s)
	out := make([][]byte, len(s))
	for i, p := range s {
		out[i] = []byte(p)
	}
	return out
}
