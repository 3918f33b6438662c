package azuretpm

import (
	"context"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/azure"
)

// CheckReport and QuoteEvidence expose the steps after the TPM to tests.
var CheckReport = checkReport

func QuoteEvidence(ctx context.Context, p *Provider, report *azure.HCLReport) (verifier.Evidence, error) {
	return p.quoteEvidence(ctx, report)
}
