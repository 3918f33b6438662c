// Package local verifies evidence on this machine, without a remote
// attestation service: TDX quotes through a quote verifier (package
// verifier/tdx), and on Azure the runtime data the quote commits to.
package local

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/azure"
)

// QuoteVerifier verifies a raw TDX quote. *tdx.Verifier implements it.
type QuoteVerifier interface {
	VerifyQuote(ctx context.Context, quote []byte) (*verifier.Claims, error)
}

// Backend verifies verifier.Evidence of the kinds verifier.EvidenceTDXQuote
// and verifier.EvidenceAzureTDX.
type Backend struct {
	// Quotes verifies the quote of every piece of evidence. It must not be nil.
	Quotes QuoteVerifier
}

// Verify verifies ev and returns its normalized claims. For plain TDX the
// user data is REPORTDATA. For Azure it is the runtime data's user-data,
// after checking that REPORTDATA commits to that runtime data. The binding
// value itself is the caller's to check (verifier.CheckBinding).
func (b *Backend) Verify(ctx context.Context, ev verifier.Evidence) (*verifier.Claims, error) {
	if len(ev.Quote) > verifier.MaxQuoteSize {
		return nil, verifier.Reject("evidence", "quote of %d bytes exceeds the maximum of %d", len(ev.Quote), verifier.MaxQuoteSize)
	}
	if len(ev.RuntimeData) > verifier.MaxRuntimeDataSize {
		return nil, verifier.Reject("evidence", "runtime data of %d bytes exceeds the maximum of %d", len(ev.RuntimeData), verifier.MaxRuntimeDataSize)
	}

	switch ev.Kind {
	case verifier.EvidenceTDXQuote:
		if len(ev.RuntimeData) != 0 {
			return nil, verifier.Reject("evidence", "evidence kind %q carries runtime data", ev.Kind)
		}
		return b.Quotes.VerifyQuote(ctx, ev.Quote)
	case verifier.EvidenceAzureTDX:
		return b.verifyAzure(ctx, ev)
	default:
		return nil, verifier.Reject("evidence", "unknown evidence kind %q, expected %q or %q",
			ev.Kind, verifier.EvidenceTDXQuote, verifier.EvidenceAzureTDX)
	}
}

func (b *Backend) verifyAzure(ctx context.Context, ev verifier.Evidence) (*verifier.Claims, error) {
	c, err := b.Quotes.VerifyQuote(ctx, ev.Quote)
	if err != nil {
		return nil, err
	}
	rd, err := azure.CheckLinks(c.ReportData, ev.RuntimeData)
	if err != nil {
		return nil, err
	}

	vm := rd.VMConfiguration
	c.Platform = verifier.PlatformAzureTDX
	c.RuntimeData = json.RawMessage(bytes.Clone(rd.Raw))
	c.VMConfiguration = &vm
	c.VMUniqueID = vm.VMUniqueID
	c.UserData = bytes.Clone(rd.UserData)
	c.EvidenceDigest = evidenceDigest(ev.Quote, rd.Raw)
	return c, nil
}

// evidenceDigest returns SHA-256 of the quote followed by the runtime data.
func evidenceDigest(quote, runtimeData []byte) []byte {
	h := sha256.New()
	h.Write(quote)
	h.Write(runtimeData)
	return h.Sum(nil)
}
