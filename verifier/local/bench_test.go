package local

import (
	"context"
	"testing"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/azure"
)

// BenchmarkVerifyAzure measures one Azure evidence verification without
// collateral: quote signature, QE report, PCK chain, runtime-data link.
func BenchmarkVerifyAzure(b *testing.B) {
	ev := verifier.Evidence{
		Kind:        verifier.EvidenceAzureTDX,
		Quote:       readTestdata(b, "ita-aztdx/azure_td_quote.bin"),
		RuntimeData: readTestdata(b, "ita-aztdx/azure_runtime_data.json"),
	}
	backend := azureBackend()
	ctx := context.Background()
	for b.Loop() {
		if _, err := backend.Verify(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckLinks measures the runtime-data link and JSON parse alone.
func BenchmarkCheckLinks(b *testing.B) {
	quote := readTestdata(b, "ita-aztdx/azure_td_quote.bin")
	runtimeData := readTestdata(b, "ita-aztdx/azure_runtime_data.json")
	reportData := quote[48+520 : 48+584]
	for b.Loop() {
		if _, err := azure.CheckLinks(reportData, runtimeData); err != nil {
			b.Fatal(err)
		}
	}
}
