package azure

import (
	"bytes"
	"crypto/sha256"
	"testing"
)

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

func FuzzParseHCLReport(f *testing.F) {
	f.Add(readTestdata(f, "ita-aztdx/azure_hcl_report.bin"))
	f.Add(readTestdata(f, "azure-cvm-tooling/hcl-report-tdx.bin"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseHCLReport(b)
		if err != nil {
			return
		}
		// The runtime data is the exact slice the IGVM header names.
		end := runtimeDataOffset + int(r.RequestData.VariableDataSize)
		if !bytes.Equal(r.RuntimeData, b[runtimeDataOffset:end]) {
			t.Fatal("runtime data is not the bytes after the igvm request data")
		}
		if !bytes.Equal(r.RawTDReport, b[32:1056]) {
			t.Fatal("raw TD report is not bytes [32:1056]")
		}
	})
}

func FuzzParseRuntimeData(f *testing.F) {
	f.Add(readTestdata(f, "ita-aztdx/azure_runtime_data.json"))
	f.Add(readTestdata(f, "azure-cvm-tooling/hcl-report-tdx.runtime_data.json"))
	f.Add(readTestdata(f, "seed-prior-work/azure-tdvm-hcl-runtime-data.json"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rd, err := ParseRuntimeData(b)
		if err != nil {
			return
		}
		if len(rd.UserData) != UserDataSize {
			t.Fatalf("user data has %d bytes", len(rd.UserData))
		}
		if rd.VMConfiguration.VMUniqueID == "" {
			t.Fatal("accepted runtime data without a vmUniqueId")
		}
		for i := range rd.Keys {
			rd.Keys[i].RSAPublicKey() // must not panic
		}
	})
}
