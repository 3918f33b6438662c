package azure

import "fmt"

// TDReportSize is the size of a TDREPORT_STRUCT.
const TDReportSize = 1024

// Offsets within a TDREPORT: REPORTMACSTRUCT at 0, TEE_TCB_INFO at 256,
// TDINFO at 512 (Intel TDX module ABI, TDREPORT_STRUCT).
const (
	tdrReportType = 0   // REPORTTYPE.TYPE, 0x81 for TDX
	tdrReportData = 128 // REPORTMACSTRUCT.REPORTDATA, 64 bytes
	tdrMAC        = 224 // REPORTMACSTRUCT.MAC, 32 bytes
	tdrTEETCBSVN  = 264 // TEE_TCB_INFO.TEE_TCB_SVN, 16 bytes
	tdrMRSeam     = 280 // TEE_TCB_INFO.MRSEAM, 48 bytes
	tdrTDInfo     = 512
)

// reportTypeTDX is REPORTTYPE.TYPE of a TD report.
const reportTypeTDX = 0x81

// TDReport holds the fields of a TDREPORT that a TD quote repeats. The slices
// alias the parsed buffer.
type TDReport struct {
	ReportData    []byte // 64 bytes
	MAC           []byte // 32 bytes, checkable only on the platform
	TEETCBSVN     []byte // 16 bytes
	MRSeam        []byte // 48 bytes
	TDAttributes  []byte // 8 bytes
	XFAM          []byte // 8 bytes
	MRTD          []byte // 48 bytes
	MRConfigID    []byte // 48 bytes
	MROwner       []byte // 48 bytes
	MROwnerConfig []byte // 48 bytes
	RTMRs         [4][]byte
}

// ParseTDReport parses a TDREPORT of exactly TDReportSize bytes.
func ParseTDReport(b []byte) (*TDReport, error) {
	if len(b) != TDReportSize {
		return nil, fmt.Errorf("parse td report: invalid size %d bytes, expected %d", len(b), TDReportSize)
	}
	if b[tdrReportType] != reportTypeTDX {
		return nil, fmt.Errorf("parse td report: report type 0x%02x is not tdx (0x%02x)", b[tdrReportType], reportTypeTDX)
	}

	field := func(off, n int) []byte { return b[off : off+n : off+n] }
	td := tdrTDInfo
	r := &TDReport{
		ReportData:    field(tdrReportData, 64),
		MAC:           field(tdrMAC, 32),
		TEETCBSVN:     field(tdrTEETCBSVN, 16),
		MRSeam:        field(tdrMRSeam, 48),
		TDAttributes:  field(td, 8),
		XFAM:          field(td+8, 8),
		MRTD:          field(td+16, 48),
		MRConfigID:    field(td+64, 48),
		MROwner:       field(td+112, 48),
		MROwnerConfig: field(td+160, 48),
	}
	for i := range r.RTMRs {
		r.RTMRs[i] = field(td+208+48*i, 48)
	}
	return r, nil
}
