package tdxsim

import (
	"encoding/asn1"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// oidSGXExtensions is Intel's SGX extensions OID (1.2.840.113741.1.13.1) that
// PCK certificates carry; sub-OIDs follow Intel's "PCK Certificate and CRL
// Profile Specification".
var oidSGXExtensions = asn1.ObjectIdentifier{1, 2, 840, 113741, 1, 13, 1}

func sgxOID(sub ...int) asn1.ObjectIdentifier {
	return append(append(asn1.ObjectIdentifier{}, oidSGXExtensions...), sub...)
}

// PlatformTCB is the TCB a simulated PCK certificate records.
type PlatformTCB struct {
	// SGXComponents are the 16 SGX TCB component SVNs (CPUSVN bytes).
	SGXComponents [16]byte
	PCESVN        uint16
}

// sgxExtensionValue encodes the SGX extensions: PPID, TCB (16 component SVNs,
// PCESVN, CPUSVN), PCE-ID, FMSPC and SGX type 0 (standard).
func sgxExtensionValue(ppid [16]byte, tcb PlatformTCB, pceID [2]byte, fmspc [6]byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addOctetsEntry(b, sgxOID(1), ppid[:])
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(sgxOID(2))
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for i, svn := range tcb.SGXComponents {
					addIntEntry(b, sgxOID(2, i+1), int64(svn))
				}
				addIntEntry(b, sgxOID(2, 17), int64(tcb.PCESVN))
				addOctetsEntry(b, sgxOID(2, 18), tcb.SGXComponents[:])
			})
		})
		addOctetsEntry(b, sgxOID(3), pceID[:])
		addOctetsEntry(b, sgxOID(4), fmspc[:])
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(sgxOID(5))
			b.AddASN1(cbasn1.ENUM, func(b *cryptobyte.Builder) { b.AddUint8(0) })
		})
	})
	return b.Bytes()
}

func addOctetsEntry(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, v []byte) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		b.AddASN1OctetString(v)
	})
}

func addIntEntry(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, v int64) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		b.AddASN1Int64(v)
	})
}
