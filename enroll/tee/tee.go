// Package tee gets TDX quotes whose REPORTDATA is a binding value: through the
// Linux configfs-tsm report interface, through the /dev/tdx_guest device, or
// from a simulated TD for development and tests.
package tee

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/binding"
)

// Offsets of REPORTDATA in TDX quotes. Both versions start with a 48-byte
// header. Version 4 puts the TD report body right after it; version 5 puts a
// body type (2 bytes) and size (4 bytes) in between. REPORTDATA sits 520 bytes
// into the body, after TEE_TCB_SVN, MRSEAM, MRSIGNERSEAM, SEAMATTRIBUTES,
// TDATTRIBUTES, XFAM, MRTD, MRCONFIGID, MROWNER, MROWNERCONFIG and the RTMRs.
const (
	quoteHeaderSize        = 48
	reportDataOffsetInBody = 520
	v4ReportDataOffset     = quoteHeaderSize + reportDataOffsetInBody
	v5ReportDataOffset     = quoteHeaderSize + 6 + reportDataOffsetInBody
)

// QuoteReportData returns the REPORTDATA of a TDX quote of version 4 or 5.
// It reads only the fixed-size prefix and checks nothing else: the CA
// verifies the quote.
func QuoteReportData(quote []byte) ([]byte, error) {
	if len(quote) > verifier.MaxQuoteSize {
		return nil, fmt.Errorf("read quote: size %d exceeds the maximum of %d bytes", len(quote), verifier.MaxQuoteSize)
	}
	if len(quote) < 2 {
		return nil, fmt.Errorf("read quote: truncated at %d bytes", len(quote))
	}
	var offset int
	switch version := binary.LittleEndian.Uint16(quote); version {
	case 4:
		offset = v4ReportDataOffset
	case 5:
		offset = v5ReportDataOffset
	default:
		return nil, fmt.Errorf("read quote: unsupported version %d", version)
	}
	if len(quote) < offset+binding.Size {
		return nil, fmt.Errorf("read quote: truncated at %d bytes", len(quote))
	}
	return quote[offset : offset+binding.Size], nil
}

// quoteEvidence checks that quote carries v as REPORTDATA and wraps it as
// tdx-quote evidence. A mismatch means the quote source ignored the request,
// which the CA would reject later with a less helpful error.
func quoteEvidence(source string, quote []byte, v binding.Value) (verifier.Evidence, error) {
	reportData, err := QuoteReportData(quote)
	if err != nil {
		return verifier.Evidence{}, fmt.Errorf("%s: %w", source, err)
	}
	if !bytes.Equal(reportData, v[:]) {
		return verifier.Evidence{}, fmt.Errorf("%s: quote REPORTDATA %x does not match the requested binding %x", source, reportData, v[:])
	}
	return verifier.Evidence{Kind: verifier.EvidenceTDXQuote, Quote: bytes.Clone(quote)}, nil
}
