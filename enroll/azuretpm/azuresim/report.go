// Package azuresim stands in for the parts of an Azure TDX confidential VM
// that the agent talks to, so the Azure evidence path runs on any machine:
// a paravisor that sits in front of a software TPM (swtpm) and regenerates
// the HCL report when user data is written, and an Instance Metadata Service
// that turns the report's TDREPORT into a simulated quote. For tests and
// development only.
package azuresim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/tdx/tdxsim"
)

// Layout of the HCL report, as Azure's paravisor writes it (see package
// verifier/azure for the parser).
const (
	tdReportOffset    = 32
	tdReportSize      = 1024
	requestDataOffset = 1216
	runtimeDataOffset = 1236
)

// RuntimeData returns compact runtime-data JSON in the paravisor's member
// order, with userData as 128 upper-case hex digits. It carries no vTPM keys:
// nothing in rassh's enrollment reads them, and the report must fit an NV
// index of swtpm (at most 2048 bytes).
func RuntimeData(vm verifier.VMConfiguration, userData []byte) []byte {
	doc := struct {
		Keys            []struct{}               `json:"keys"`
		VMConfiguration verifier.VMConfiguration `json:"vm-configuration"`
		UserData        string                   `json:"user-data"`
	}{
		Keys:            []struct{}{},
		VMConfiguration: vm,
		UserData:        strings.ToUpper(hex.EncodeToString(userData)),
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err) // a struct of strings and bools always marshals
	}
	return b
}

// TDReport returns a 1024-byte TDREPORT for a TD in state td whose
// REPORTDATA is reportData. Its MAC is zero: no verifier can check it off
// the platform.
func TDReport(reportData [64]byte, td tdxsim.TDConfig) []byte {
	r := make([]byte, tdReportSize)
	r[0] = 0x81 // REPORTTYPE.TYPE: TDX
	copy(r[128:192], reportData[:])
	copy(r[264:280], tdxsim.TEETCBSVN[:])
	copy(r[280:328], tdxsim.MRSeam[:])

	info := r[512:]
	if td.Debug {
		info[0] = 1
	}
	copy(info[8:16], tdxsim.XFAM[:])
	copy(info[16:64], td.MRTD)
	copy(info[64:112], td.MRConfigID)
	copy(info[112:160], td.MROwner)
	copy(info[160:208], td.MROwnerConfig)
	for i, rtmr := range td.RTMRs {
		copy(info[208+48*i:256+48*i], rtmr)
	}
	return r
}

// HCLReport returns an HCL report whose TDREPORT commits to runtimeData:
// REPORTDATA[0:32] is its SHA-256 and REPORTDATA[32:64] is zero.
func HCLReport(runtimeData []byte, td tdxsim.TDConfig) []byte {
	var reportData [64]byte
	sum := sha256.Sum256(runtimeData)
	copy(reportData[:], sum[:])

	b := make([]byte, runtimeDataOffset+len(runtimeData))
	copy(b[0:4], "HCLA")
	binary.LittleEndian.PutUint32(b[4:], 2)              // version
	binary.LittleEndian.PutUint32(b[8:], uint32(len(b))) // report size
	binary.LittleEndian.PutUint32(b[12:], 2)             // request type
	copy(b[tdReportOffset:], TDReport(reportData, td))
	igvm := b[requestDataOffset:]
	binary.LittleEndian.PutUint32(igvm[0:], uint32(20+len(runtimeData))) // data size
	binary.LittleEndian.PutUint32(igvm[4:], 1)                           // version
	binary.LittleEndian.PutUint32(igvm[8:], 4)                           // report type: TDX
	binary.LittleEndian.PutUint32(igvm[12:], 1)                          // hash type: SHA-256
	binary.LittleEndian.PutUint32(igvm[16:], uint32(len(runtimeData)))
	copy(b[runtimeDataOffset:], runtimeData)
	return b
}
