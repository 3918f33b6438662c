package tdx

import (
	"encoding/binary"

	"github.com/rassh/rassh/verifier"
)

// Layout of a TDX quote, from Intel's "TDX DCAP Quoting Library API" (quote
// format v4 and v5). All integers are little-endian.
const (
	headerSize     = 48
	bodyV4Size     = 584 // TD report 1.0 body (TDX 1.0)
	bodyTD15Size   = 648 // TD report 1.5 body: the 1.0 body, TEE_TCB_SVN_2, MRSERVICETD
	descriptorSize = 6   // v5 only: body type (uint16) and body size (uint32)
	signatureSize  = 64  // ECDSA P-256 r||s
	attestKeySize  = 64  // ECDSA P-256 X||Y
	qeReportSize   = 384 // SGX enclave report of the quoting enclave
	certHeaderSize = 6   // certification data type (uint16) and size (uint32)

	teeTypeTDX         = 0x81
	attestKeyTypeP256  = 2
	certTypeQEReport   = 6 // certification data that holds the QE report
	certTypePCKChain   = 5 // PEM PCK leaf, intermediate and root
	bodyTypeTD10       = 2
	bodyTypeTD15       = 3
	quoteVersion4      = 4
	quoteVersion5      = 5
	qeReportDataOffset = 320
	qeISVSVNOffset     = 258
)

// Offsets inside the TD report body (both versions share the first 584 bytes).
const (
	bodyTEETCBSVN    = 0
	bodyMRSeam       = 16
	bodyMRSignerSeam = 64
	bodySeamAttrs    = 112
	bodyTDAttributes = 120
	bodyXFAM         = 128
	bodyMRTD         = 136
	bodyMRConfigID   = 184
	bodyMROwner      = 232
	bodyMROwnerCfg   = 280
	bodyRTMR0        = 328
	bodyReportData   = 520
	// A TD 1.5 body continues with TEE_TCB_SVN_2 at 584 and MRSERVICETD at 600.
)

const checkFormat = "quote format"

// quote is a parsed TDX quote: every field aliases the caller's bytes.
type quote struct {
	version  int
	bodyType int // bodyTypeTD10 or bodyTypeTD15

	header []byte
	body   []byte
	// signed is header || body for v4 and header || descriptor || body for v5:
	// the bytes the attestation key signs.
	signed []byte

	signature   []byte
	attestKey   []byte
	qeReport    []byte
	qeSignature []byte
	qeAuthData  []byte
	pckChainPEM []byte

	// signedDataEnd is the offset just past the signed data. Bytes after it
	// are padding that no check covers.
	signedDataEnd int
}

// reader walks a byte slice and fails instead of panicking on short input.
// base is the offset of b in the quote, so messages name quote offsets.
type reader struct {
	b    []byte
	off  int
	base int
}

// sub returns a reader over b, which starts at quote offset base.
func sub(b []byte, base int) *reader { return &reader{b: b, base: base} }

func (r *reader) take(n int, what string) ([]byte, error) {
	if n < 0 || len(r.b)-r.off < n {
		return nil, verifier.Reject(checkFormat, "parse quote: %s at offset %d needs %d bytes, %d left", what, r.base+r.off, n, len(r.b)-r.off)
	}
	v := r.b[r.off : r.off+n]
	r.off += n
	return v, nil
}

func (r *reader) u16(what string) (int, error) {
	v, err := r.take(2, what)
	if err != nil {
		return 0, err
	}
	return int(binary.LittleEndian.Uint16(v)), nil
}

func (r *reader) u32(what string) (int, error) {
	v, err := r.take(4, what)
	if err != nil {
		return 0, err
	}
	n := binary.LittleEndian.Uint32(v)
	if n > verifier.MaxQuoteSize {
		return 0, verifier.Reject(checkFormat, "parse quote: %s %d exceeds the maximum quote size %d", what, n, verifier.MaxQuoteSize)
	}
	return int(n), nil
}

// parseQuote parses a quote v4 or v5 with bounds checks at every length field.
func parseQuote(b []byte) (*quote, error) {
	if len(b) > verifier.MaxQuoteSize {
		return nil, verifier.Reject(checkFormat, "parse quote: size %d exceeds the maximum %d", len(b), verifier.MaxQuoteSize)
	}
	r := &reader{b: b}
	q := &quote{}

	header, err := r.take(headerSize, "header")
	if err != nil {
		return nil, err
	}
	if err := q.parseHeader(header); err != nil {
		return nil, err
	}
	if err := q.parseBody(r); err != nil {
		return nil, err
	}
	q.signed = b[:r.off]

	signedSize, err := r.u32("signed data size")
	if err != nil {
		return nil, err
	}
	signedData, err := r.take(signedSize, "signed data")
	if err != nil {
		return nil, err
	}
	q.signedDataEnd = r.off
	if err := q.parseSignedData(sub(signedData, r.off-signedSize)); err != nil {
		return nil, err
	}
	return q, nil
}

func (q *quote) parseHeader(h []byte) error {
	q.header = h
	q.version = int(binary.LittleEndian.Uint16(h[0:2]))
	if q.version != quoteVersion4 && q.version != quoteVersion5 {
		return verifier.Reject(checkFormat, "parse quote: version %d is not supported (want 4 or 5)", q.version)
	}
	if keyType := binary.LittleEndian.Uint16(h[2:4]); keyType != attestKeyTypeP256 {
		return verifier.Reject(checkFormat, "parse quote: attestation key type %d is not supported (want %d, ECDSA P-256)", keyType, attestKeyTypeP256)
	}
	if tee := binary.LittleEndian.Uint32(h[4:8]); tee != teeTypeTDX {
		return verifier.Reject(checkFormat, "parse quote: TEE type %#x is not TDX (%#x)", tee, teeTypeTDX)
	}
	return nil
}

func (q *quote) parseBody(r *reader) error {
	var err error
	if q.version == quoteVersion4 {
		q.bodyType = bodyTypeTD10
		q.body, err = r.take(bodyV4Size, "TD quote body")
		return err
	}

	q.bodyType, err = r.u16("body type")
	if err != nil {
		return err
	}
	size, err := r.u32("body size")
	if err != nil {
		return err
	}
	want := map[int]int{bodyTypeTD10: bodyV4Size, bodyTypeTD15: bodyTD15Size}[q.bodyType]
	if want == 0 {
		return verifier.Reject(checkFormat, "parse quote: body type %d is not a TD report (want %d or %d)", q.bodyType, bodyTypeTD10, bodyTypeTD15)
	}
	if size != want {
		return verifier.Reject(checkFormat, "parse quote: body size %d does not match body type %d (want %d)", size, q.bodyType, want)
	}
	q.body, err = r.take(size, "TD quote body")
	return err
}

// parseSignedData parses the ECDSA signature data. The lengths inside must
// add up to the signed data size exactly, as go-tdx-guest's parser requires.
func (q *quote) parseSignedData(r *reader) error {
	var err error
	if q.signature, err = r.take(signatureSize, "quote signature"); err != nil {
		return err
	}
	if q.attestKey, err = r.take(attestKeySize, "attestation key"); err != nil {
		return err
	}
	certData, err := takeCertData(r, certTypeQEReport, "QE report certification data")
	if err != nil {
		return err
	}

	// takeCertData checked that the certification data ends the signed
	// data, and that the PCK chain ends the certification data.
	r = sub(certData, r.base+r.off-len(certData))
	if q.qeReport, err = r.take(qeReportSize, "QE report"); err != nil {
		return err
	}
	if q.qeSignature, err = r.take(signatureSize, "QE report signature"); err != nil {
		return err
	}
	authSize, err := r.u16("QE authentication data size")
	if err != nil {
		return err
	}
	if q.qeAuthData, err = r.take(authSize, "QE authentication data"); err != nil {
		return err
	}
	q.pckChainPEM, err = takeCertData(r, certTypePCKChain, "PCK certificate chain")
	return err
}

// takeCertData reads a certification data header of the wanted type and
// returns its payload, which must extend exactly to the end of r.
func takeCertData(r *reader, wantType int, what string) ([]byte, error) {
	typ, err := r.u16(what + " type")
	if err != nil {
		return nil, err
	}
	if typ != wantType {
		return nil, verifier.Reject(checkFormat, "parse quote: %s has type %d (want %d)", what, typ, wantType)
	}
	size, err := r.u32(what + " size")
	if err != nil {
		return nil, err
	}
	if left := len(r.b) - r.off; size != left {
		return nil, verifier.Reject(checkFormat, "parse quote: %s size %d does not match the %d bytes that follow", what, size, left)
	}
	return r.take(size, what)
}

// field returns a copy of n bytes of the body at off.
func (q *quote) field(off, n int) []byte {
	return append([]byte(nil), q.body[off:off+n]...)
}
