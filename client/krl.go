package client

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/internal/boundedfile"
)

// MaxKRLSize bounds a KRL file.
const MaxKRLSize = 16 << 20

// KRL format constants from OpenSSH's PROTOCOL.krl.
const (
	krlMagic         = 0x5353484b524c0a00 // "SSHKRL\n\0"
	krlFormatVersion = 1

	krlSectionCertificates = 1
	krlSectionExplicitKey  = 2
	krlSectionSHA1         = 3
	krlSectionSignature    = 4
	krlSectionSHA256       = 5

	krlCertSerialList   = 0x20
	krlCertSerialRange  = 0x21
	krlCertSerialBitmap = 0x22
	krlCertKeyID        = 0x23
)

// KRL is a parsed OpenSSH key revocation list, as `ssh-keygen -k` writes it
// and sshd's RevokedKeys reads it.
type KRL struct {
	Version uint64
	Comment string

	// certs maps a CA key blob ("" for the wildcard CA that key IDs may use)
	// to what it revokes.
	certs   map[string]*krlCerts
	keys    map[string]bool // plain public key blobs
	sha1s   map[string]bool // SHA-1 of key blobs
	sha256s map[string]bool // SHA-256 of key blobs
}

type krlCerts struct {
	serials []serialRange
	bitmaps []serialBitmap
	keyIDs  map[string]bool
}

// serialBitmap is an mpint whose bit i, counted from the least significant
// bit, revokes serial offset+i. It is kept as read so a large bitmap costs
// no more memory than its bytes.
type serialBitmap struct {
	offset uint64
	bits   []byte
}

type serialRange struct{ lo, hi uint64 }

var errKRLTruncated = errors.New("truncated")

// ParseKRL parses a binary KRL. Signature sections are accepted and not
// checked: the file is local configuration, trusted as such.
func ParseKRL(data []byte) (*KRL, error) {
	if len(data) > MaxKRLSize {
		return nil, fmt.Errorf("parse KRL: %d bytes exceeds %d", len(data), MaxKRLSize)
	}
	r := krlReader{b: data}
	krl := &KRL{certs: map[string]*krlCerts{}, keys: map[string]bool{}, sha1s: map[string]bool{}, sha256s: map[string]bool{}}
	if err := krl.parseHeader(&r); err != nil {
		return nil, fmt.Errorf("parse KRL: %w", err)
	}
	for len(r.b) > 0 {
		typ := r.byte()
		section := krlReader{b: r.str()}
		if r.err != nil {
			return nil, fmt.Errorf("parse KRL: section header: %w", r.err)
		}
		if err := krl.parseSection(typ, &section); err != nil {
			return nil, fmt.Errorf("parse KRL: section type %d: %w", typ, err)
		}
	}
	return krl, nil
}

func (krl *KRL) parseHeader(r *krlReader) error {
	magic := r.u64()
	format := r.u32()
	krl.Version = r.u64()
	r.u64() // generated date
	r.u64() // flags
	r.str() // reserved
	krl.Comment = string(r.str())
	switch {
	case r.err != nil:
		return fmt.Errorf("header: %w", r.err)
	case magic != krlMagic:
		return fmt.Errorf("not a KRL: magic %#x", magic)
	case format != krlFormatVersion:
		return fmt.Errorf("unsupported format version %d", format)
	}
	return nil
}

func (krl *KRL) parseSection(typ byte, r *krlReader) error {
	switch typ {
	case krlSectionCertificates:
		return krl.parseCertSection(r)
	case krlSectionExplicitKey:
		return r.eachString(func(b []byte) error {
			if _, err := ssh.ParsePublicKey(b); err != nil {
				return fmt.Errorf("revoked key: %w", err)
			}
			krl.keys[string(b)] = true
			return nil
		})
	case krlSectionSHA1:
		return r.eachString(func(b []byte) error { return addHash(krl.sha1s, b, sha1.Size) })
	case krlSectionSHA256:
		return r.eachString(func(b []byte) error { return addHash(krl.sha256s, b, sha256.Size) })
	case krlSectionSignature:
		r.str()
		r.str()
		return r.end()
	}
	return errors.New("unknown section type")
}

func addHash(set map[string]bool, b []byte, size int) error {
	if len(b) != size {
		return fmt.Errorf("fingerprint of %d bytes, expected %d", len(b), size)
	}
	set[string(b)] = true
	return nil
}

func (krl *KRL) parseCertSection(r *krlReader) error {
	caKey := r.str()
	r.str() // reserved
	if r.err != nil {
		return r.err
	}
	if len(caKey) > 0 {
		if _, err := ssh.ParsePublicKey(caKey); err != nil {
			return fmt.Errorf("CA key: %w", err)
		}
	}
	certs := krl.certs[string(caKey)]
	if certs == nil {
		certs = &krlCerts{keyIDs: map[string]bool{}}
		krl.certs[string(caKey)] = certs
	}
	for len(r.b) > 0 {
		typ := r.byte()
		sub := krlReader{b: r.str()}
		if r.err != nil {
			return r.err
		}
		if len(caKey) == 0 && typ != krlCertKeyID {
			return errors.New("serials under the wildcard CA")
		}
		if err := certs.parse(typ, &sub); err != nil {
			return fmt.Errorf("certificate section type %#x: %w", typ, err)
		}
	}
	return nil
}

func (c *krlCerts) parse(typ byte, r *krlReader) error {
	switch typ {
	case krlCertSerialList:
		for len(r.b) > 0 {
			s := r.u64()
			c.serials = append(c.serials, serialRange{s, s})
		}
	case krlCertSerialRange:
		lo, hi := r.u64(), r.u64()
		if r.err == nil && lo > hi {
			return fmt.Errorf("serial range %d-%d is inverted", lo, hi)
		}
		c.serials = append(c.serials, serialRange{lo, hi})
	case krlCertSerialBitmap:
		c.parseBitmap(r)
	case krlCertKeyID:
		return r.eachString(func(b []byte) error { c.keyIDs[string(b)] = true; return nil })
	default:
		return errors.New("unknown certificate section type")
	}
	return r.end()
}

func (c *krlCerts) parseBitmap(r *krlReader) {
	offset := r.u64()
	bits := r.str()
	if r.err == nil {
		c.bitmaps = append(c.bitmaps, serialBitmap{offset: offset, bits: bits})
	}
}

func (b serialBitmap) contains(serial uint64) bool {
	if serial < b.offset {
		return false
	}
	i := serial - b.offset
	if i/8 >= uint64(len(b.bits)) {
		return false
	}
	return b.bits[uint64(len(b.bits))-1-i/8]&(1<<(i%8)) != 0
}

// Revoked reports why key is revoked, or "" when it is not. For a
// certificate it checks its CA key, its serial and key ID under that CA (or
// any CA for key IDs), and its plain key, as sshd does.
func (krl *KRL) Revoked(key ssh.PublicKey) string {
	cert, ok := key.(*ssh.Certificate)
	if !ok {
		return krl.keyRevoked(key, "key")
	}
	if why := krl.keyRevoked(cert.SignatureKey, "CA key"); why != "" {
		return why
	}
	for _, ca := range []string{string(cert.SignatureKey.Marshal()), ""} {
		certs := krl.certs[ca]
		if certs == nil {
			continue
		}
		if cert.Serial != 0 && certs.serialRevoked(cert.Serial) {
			return fmt.Sprintf("certificate serial %d", cert.Serial)
		}
		if certs.keyIDs[cert.KeyId] {
			return fmt.Sprintf("certificate key ID %q", cert.KeyId)
		}
	}
	return krl.keyRevoked(cert.Key, "certified key")
}

func (c *krlCerts) serialRevoked(serial uint64) bool {
	for _, r := range c.serials {
		if serial >= r.lo && serial <= r.hi {
			return true
		}
	}
	for _, b := range c.bitmaps {
		if b.contains(serial) {
			return true
		}
	}
	return false
}

func (krl *KRL) keyRevoked(key ssh.PublicKey, what string) string {
	blob := key.Marshal()
	sum1 := sha1.Sum(blob)
	sum256 := sha256.Sum256(blob)
	if krl.keys[string(blob)] || krl.sha1s[string(sum1[:])] || krl.sha256s[string(sum256[:])] {
		return what + " " + ssh.FingerprintSHA256(key)
	}
	return ""
}

// krlReader reads SSH wire fields and records the first error.
type krlReader struct {
	b   []byte
	err error
}

func (r *krlReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.err = errKRLTruncated
		r.b = nil
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *krlReader) byte() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *krlReader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *krlReader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (r *krlReader) str() []byte {
	n := r.u32()
	if uint64(n) > uint64(len(r.b)) {
		r.err = errKRLTruncated
		return nil
	}
	return r.take(int(n))
}

func (r *krlReader) eachString(f func([]byte) error) error {
	for len(r.b) > 0 {
		s := r.str()
		if r.err != nil {
			return r.err
		}
		if err := f(s); err != nil {
			return err
		}
	}
	return nil
}

// end reports a read error or bytes left over in a fixed-size section.
func (r *krlReader) end() error {
	if r.err != nil {
		return r.err
	}
	if len(r.b) > 0 {
		return fmt.Errorf("%d bytes of trailing data", len(r.b))
	}
	return nil
}

// LoadKRL reads and parses the KRL file at path.
func LoadKRL(path string) (*KRL, error) {
	data, err := boundedfile.Read(path, MaxKRLSize)
	if err != nil {
		return nil, fmt.Errorf("load KRL: %w", err)
	}
	krl, err := ParseKRL(data)
	if err != nil {
		return nil, fmt.Errorf("load KRL %s: %w", path, err)
	}
	return krl, nil
}
