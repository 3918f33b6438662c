package azure

import (
	"bytes"
	"crypto/sha256"

	"github.com/rassh/rassh/verifier"
)

// CheckLinks checks that a quote's 64-byte REPORTDATA commits to runtimeData,
// as the Azure paravisor builds it: REPORTDATA[0:32] is SHA-256 of the exact
// runtime-data bytes and REPORTDATA[32:64] is zero. It then parses the
// runtime data. Failures are *verifier.RejectedError with Check
// "runtime-data".
func CheckLinks(reportData, runtimeData []byte) (*RuntimeData, error) {
	if len(reportData) != 64 {
		return nil, verifier.Reject("runtime-data", "report data has %d bytes, expected 64", len(reportData))
	}
	if len(runtimeData) > verifier.MaxRuntimeDataSize {
		return nil, verifier.Reject("runtime-data", "size %d bytes exceeds the maximum of %d", len(runtimeData), verifier.MaxRuntimeDataSize)
	}
	sum := sha256.Sum256(runtimeData)
	if !bytes.Equal(reportData[:32], sum[:]) {
		return nil, verifier.Reject("runtime-data", "report data[0:32] %x is not the sha-256 %x of the runtime data", reportData[:32], sum)
	}
	if !bytes.Equal(reportData[32:], make([]byte, 32)) {
		return nil, verifier.Reject("runtime-data", "report data[32:64] %x is not zero", reportData[32:])
	}
	rd, err := ParseRuntimeData(runtimeData)
	if err != nil {
		return nil, &verifier.RejectedError{Check: "runtime-data", Err: err}
	}
	return rd, nil
}
