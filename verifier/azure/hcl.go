// Package azure parses the evidence of Azure TDX confidential VMs: the HCL
// report that the paravisor (HCL) stores in vTPM NV index 0x01400001, the TD
// report inside it, and the runtime-data JSON that the TD quote commits to.
//
// The HCL report layout, all integers little-endian:
//
//	[0:32]      attestation header: "HCLA", version, report size, request type, status, reserved
//	[32:1056]   TDREPORT (1024 bytes), MAC'd by the CPU
//	[1056:1216] reserved
//	[1216:1236] IGVM request data header: data size, version, report type, hash type, variable data size
//	[1236:...]  runtime-data JSON, variable-data-size bytes
//
// The layout was checked against two HCL reports recorded on real Azure TDX
// CVMs (DCesv5 class).
package azure

import (
	"encoding/binary"
	"fmt"

	"github.com/rassh/rassh/verifier"
)

// Offsets and sizes of the HCL report.
const (
	hclHeaderSize     = 32
	tdReportOffset    = hclHeaderSize
	tdReportEnd       = tdReportOffset + TDReportSize
	requestDataOffset = 1216
	requestDataSize   = 20
	runtimeDataOffset = requestDataOffset + requestDataSize

	// MaxHCLReportSize bounds the input of ParseHCLReport: the fixed part
	// followed by the largest runtime data rassh accepts.
	MaxHCLReportSize = runtimeDataOffset + verifier.MaxRuntimeDataSize
)

// hclSignature is the magic value at the start of every HCL report.
const hclSignature = "HCLA"

// IGVM request data values that rassh accepts.
const (
	ReportTypeTDX  = 4 // 2 is SEV-SNP
	HashTypeSHA256 = 1 // REPORTDATA[0:32] is SHA-256 of the runtime data
)

// HCLReport is a parsed Azure HCL report.
type HCLReport struct {
	// Header fields.
	Version     uint32
	ReportSize  uint32
	RequestType uint32
	Status      uint32

	// TDReport is the TDREPORT the CPU produced for the paravisor. Its MAC can
	// be checked only on the platform that made it.
	TDReport *TDReport
	// RawTDReport is the exact 1024-byte TDREPORT, what IMDS turns into a quote.
	RawTDReport []byte

	RequestData IGVMRequestData

	// RuntimeData is the exact runtime-data JSON, the bytes REPORTDATA hashes.
	RuntimeData []byte
}

// IGVMRequestData is the IGVM request data header that precedes the runtime data.
type IGVMRequestData struct {
	DataSize         uint32 // the header's 20 bytes plus VariableDataSize
	Version          uint32
	ReportType       uint32 // ReportTypeTDX
	HashType         uint32 // HashTypeSHA256
	VariableDataSize uint32 // length of the runtime-data JSON
}

// ParseHCLReport parses an HCL report. Bytes after the runtime data (the NV
// index is larger than the report) are ignored. It checks the structure only:
// whether the TD report is genuine is known once a quote made from it verifies.
func ParseHCLReport(b []byte) (*HCLReport, error) {
	if len(b) > MaxHCLReportSize {
		return nil, fmt.Errorf("azure: parse hcl report: size %d bytes exceeds the maximum of %d", len(b), MaxHCLReportSize)
	}
	if len(b) < runtimeDataOffset {
		return nil, fmt.Errorf("azure: parse hcl report: truncated at %d bytes, need at least %d", len(b), runtimeDataOffset)
	}
	if sig := string(b[0:4]); sig != hclSignature {
		return nil, fmt.Errorf("azure: parse hcl report: invalid signature %q, expected %q", sig, hclSignature)
	}

	r := &HCLReport{
		Version:     le32(b, 4),
		ReportSize:  le32(b, 8),
		RequestType: le32(b, 12),
		Status:      le32(b, 16),
		RawTDReport: b[tdReportOffset:tdReportEnd:tdReportEnd],
	}
	td, err := ParseTDReport(r.RawTDReport)
	if err != nil {
		return nil, fmt.Errorf("azure: parse hcl report: %w", err)
	}
	r.TDReport = td

	r.RequestData = IGVMRequestData{
		DataSize:         le32(b, requestDataOffset),
		Version:          le32(b, requestDataOffset+4),
		ReportType:       le32(b, requestDataOffset+8),
		HashType:         le32(b, requestDataOffset+12),
		VariableDataSize: le32(b, requestDataOffset+16),
	}
	if err := r.RequestData.check(len(b)); err != nil {
		return nil, fmt.Errorf("azure: parse hcl report: %w", err)
	}
	end := runtimeDataOffset + int(r.RequestData.VariableDataSize)
	r.RuntimeData = b[runtimeDataOffset:end:end]
	return r, nil
}

// check validates the request data header against a report of n bytes.
func (d IGVMRequestData) check(n int) error {
	if d.ReportType != ReportTypeTDX {
		return fmt.Errorf("unsupported report type %d in the igvm request data, expected %d (tdx)", d.ReportType, ReportTypeTDX)
	}
	if d.HashType != HashTypeSHA256 {
		return fmt.Errorf("unsupported hash type %d in the igvm request data, expected %d (sha-256)", d.HashType, HashTypeSHA256)
	}
	if d.VariableDataSize == 0 {
		return fmt.Errorf("empty runtime data in the igvm request data")
	}
	if uint64(d.VariableDataSize) > uint64(n-runtimeDataOffset) {
		return fmt.Errorf("runtime data size %d exceeds the %d bytes after the igvm request data", d.VariableDataSize, n-runtimeDataOffset)
	}
	if uint64(d.DataSize) != uint64(d.VariableDataSize)+requestDataSize {
		return fmt.Errorf("igvm request data size %d does not equal %d header bytes plus runtime data size %d", d.DataSize, requestDataSize, d.VariableDataSize)
	}
	return nil
}

func le32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off : off+4]) }
