package tdxsim

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
)

// TDConfig is the state of the simulated TD. Each measurement is empty
// (all zero) or exactly 48 bytes.
type TDConfig struct {
	MRTD, MRConfigID, MROwner, MROwnerConfig []byte
	RTMRs                                    [4][]byte
	// Debug sets TD_ATTRIBUTES bit 0, the DEBUG bit.
	Debug bool
}

// Fixed values of the simulated TDX module and quoting enclave (QE).
var (
	// TEETCBSVN is the simulated TDX module's TEE_TCB_SVN: byte 0 is the
	// module's ISV SVN and byte 1 its major version.
	TEETCBSVN = [16]byte{3, 1, 2}
	// QEISVSVN is the simulated QE's ISV SVN; its ISV product ID is 2 (TD_QE).
	QEISVSVN uint16 = 8
	// QEMRSigner is the simulated QE's MRSIGNER.
	QEMRSigner = sha256.Sum256([]byte("rassh simulated quoting enclave"))
	// MRSeam is the simulated TDX module's measurement.
	MRSeam = sha512.Sum384([]byte("rassh simulated TDX module"))
	// XFAM enables x87, SSE, AVX, AVX-512, PKRU and AMX state, as real TDs do.
	XFAM = [8]byte{0xe7, 0x18, 0x06, 0, 0, 0, 0, 0}

	qeVendorIntel = [16]byte{0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07}
)

// Quote returns a quote v4 over reportData for a TD in state td, signed by
// the attestation key, with a QE report signed by the PCK key.
func (a *Authority) Quote(reportData [64]byte, td TDConfig) ([]byte, error) {
	body, err := tdBody(reportData, td)
	if err != nil {
		return nil, fmt.Errorf("simulated quote: %w", err)
	}
	signed := append(header(), body...)

	var out []byte
	out = append(out, signed...)
	sigData, err := a.signedData(signed)
	if err != nil {
		return nil, fmt.Errorf("simulated quote: %w", err)
	}
	out = binary.LittleEndian.AppendUint32(out, uint32(len(sigData)))
	return append(out, sigData...), nil
}

func header() []byte {
	h := make([]byte, 48)
	binary.LittleEndian.PutUint16(h[0:], 4)    // quote version
	binary.LittleEndian.PutUint16(h[2:], 2)    // attestation key type: ECDSA P-256
	binary.LittleEndian.PutUint32(h[4:], 0x81) // TEE type: TDX
	binary.LittleEndian.PutUint16(h[8:], QEISVSVN)
	binary.LittleEndian.PutUint16(h[10:], DefaultTCB.PCESVN)
	copy(h[12:28], qeVendorIntel[:])
	return h
}

// tdBody lays out the 584-byte TD report 1.0 body.
func tdBody(reportData [64]byte, td TDConfig) ([]byte, error) {
	b := make([]byte, 584)
	copy(b[0:16], TEETCBSVN[:])
	copy(b[16:64], MRSeam[:])
	attrs := uint64(1) << 28 // SEPT_VE_DISABLE
	if td.Debug {
		attrs |= 1
	}
	binary.LittleEndian.PutUint64(b[120:128], attrs)
	copy(b[128:136], XFAM[:])

	fields := []struct {
		name string
		off  int
		v    []byte
	}{
		{"MRTD", 136, td.MRTD},
		{"MRCONFIGID", 184, td.MRConfigID},
		{"MROWNER", 232, td.MROwner},
		{"MROWNERCONFIG", 280, td.MROwnerConfig},
		{"RTMR0", 328, td.RTMRs[0]},
		{"RTMR1", 376, td.RTMRs[1]},
		{"RTMR2", 424, td.RTMRs[2]},
		{"RTMR3", 472, td.RTMRs[3]},
	}
	for _, f := range fields {
		if len(f.v) != 0 && len(f.v) != 48 {
			return nil, fmt.Errorf("%s is %d bytes, want 48 or none", f.name, len(f.v))
		}
		copy(b[f.off:f.off+48], f.v)
	}
	copy(b[520:584], reportData[:])
	return b, nil
}

// signedData builds the ECDSA signature data: quote signature, attestation
// key, and certification data type 6 holding the QE report, its signature,
// the QE authentication data and the PCK chain (type 5).
func (a *Authority) signedData(signed []byte) ([]byte, error) {
	sig, err := signRS(a.attestationKey, signed)
	if err != nil {
		return nil, err
	}
	attestKey := rawPublicKey(&a.attestationKey.PublicKey)

	authData := make([]byte, 32)
	for i := range authData {
		authData[i] = byte(i)
	}
	report := qeReport(attestKey, authData)
	reportSig, err := signRS(a.pckKey, report)
	if err != nil {
		return nil, err
	}

	var cert []byte
	cert = append(cert, report...)
	cert = append(cert, reportSig...)
	cert = binary.LittleEndian.AppendUint16(cert, uint16(len(authData)))
	cert = append(cert, authData...)
	chain := a.chainPEM()
	cert = binary.LittleEndian.AppendUint16(cert, 5)
	cert = binary.LittleEndian.AppendUint32(cert, uint32(len(chain)))
	cert = append(cert, chain...)

	out := append(sig, attestKey...)
	out = binary.LittleEndian.AppendUint16(out, 6)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(cert)))
	return append(out, cert...), nil
}

// qeReport lays out the 384-byte SGX report of the QE, whose report data
// commits to the attestation key: SHA-256(key || auth data) || 32 zero bytes.
func qeReport(attestKey, authData []byte) []byte {
	r := make([]byte, 384)
	copy(r[0:16], DefaultTCB.SGXComponents[:]) // CPUSVN
	r[48] = 0x11                               // attributes: INIT, MODE64BIT
	copy(r[128:160], QEMRSigner[:])
	binary.LittleEndian.PutUint16(r[256:], 2) // ISV product ID: TD_QE
	binary.LittleEndian.PutUint16(r[258:], QEISVSVN)
	h := sha256.Sum256(append(append([]byte(nil), attestKey...), authData...))
	copy(r[320:352], h[:])
	return r
}

func rawPublicKey(k *ecdsa.PublicKey) []byte {
	b, err := k.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err) // a generated P-256 key always encodes
	}
	return b[1:]
}

// signRS signs SHA-256(msg) and returns the raw r||s form quotes use.
func signRS(key *ecdsa.PrivateKey, msg []byte) ([]byte, error) {
	digest := sha256.Sum256(msg)
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return nil, err
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out, nil
}
