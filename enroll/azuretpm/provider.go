// Package azuretpm gets attestation evidence on an Azure TDX confidential VM.
// The guest cannot choose a quote's REPORTDATA there. Instead it writes the
// binding value to a vTPM NV index, and the paravisor puts it into the
// runtime data of a fresh HCL report. The Instance Metadata Service (IMDS)
// then turns that report's TDREPORT into a quote whose REPORTDATA commits to
// the runtime data.
package azuretpm

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/go-tpm/tpm2/transport"

	"github.com/rassh/rassh/enroll/tee"
	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/azure"
	"github.com/rassh/rassh/verifier/binding"
)

// DefaultTPMPath is the kernel's TPM resource manager device.
const DefaultTPMPath = "/dev/tpmrm0"

// Config configures the Azure provider.
type Config struct {
	// TPM is the vTPM device or a Unix socket that speaks the TPM command
	// protocol; empty means DefaultTPMPath.
	TPM string `json:"tpm,omitempty"`
	// IMDSURL is the metadata service; empty means DefaultIMDSURL.
	IMDSURL string `json:"imds_url,omitempty"`
	// ReportTimeout bounds the wait for the paravisor to put the written
	// user data into the HCL report, as a Go duration ("5s"). Empty means
	// DefaultReportTimeout.
	ReportTimeout string `json:"report_timeout,omitempty"`
}

// DefaultReportTimeout is how long Evidence waits for a fresh HCL report.
const DefaultReportTimeout = 10 * time.Second

// reportPollInterval is the delay between reads of a stale HCL report.
const reportPollInterval = 100 * time.Millisecond

// Provider makes azure-tdx evidence through the vTPM and IMDS.
type Provider struct {
	// Open opens the vTPM for one Evidence call.
	Open func() (transport.TPMCloser, error)
	IMDS *IMDS
	// ReportTimeout bounds the wait for a fresh HCL report; zero means
	// DefaultReportTimeout.
	ReportTimeout time.Duration

	// mu serializes Evidence calls: the user-data index and the report are
	// one per VM, so a concurrent write would replace the report another
	// call waits for. Other processes that write the index still can.
	mu sync.Mutex
}

// New returns a provider for cfg.
func New(cfg Config) (*Provider, error) {
	path := cfg.TPM
	if path == "" {
		path = DefaultTPMPath
	}
	p := &Provider{
		Open: func() (transport.TPMCloser, error) { return OpenTPM(path) },
		IMDS: &IMDS{BaseURL: cfg.IMDSURL},
	}
	if cfg.ReportTimeout != "" {
		d, err := time.ParseDuration(cfg.ReportTimeout)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("azure: invalid report_timeout %q, expected a positive duration such as 5s", cfg.ReportTimeout)
		}
		p.ReportTimeout = d
	}
	return p, nil
}

// Evidence writes v to the user-data NV index, reads the regenerated HCL
// report, and requests the quote of its TDREPORT from IMDS. The evidence carries
// the exact runtime-data bytes that the quote's REPORTDATA hashes.
func (p *Provider) Evidence(ctx context.Context, v binding.Value) (verifier.Evidence, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	tpm, err := p.Open()
	if err != nil {
		return verifier.Evidence{}, fmt.Errorf("azure: %w", err)
	}
	defer tpm.Close()

	if err := WriteNV(tpm, UserDataIndex, v[:], true); err != nil {
		return verifier.Evidence{}, fmt.Errorf("azure: %w", err)
	}
	report, err := p.freshReport(ctx, tpm, v)
	if err != nil {
		return verifier.Evidence{}, err
	}

	return p.quoteEvidence(ctx, report)
}

// quoteEvidence requests the quote of report's TDREPORT from IMDS and checks
// that the quote carries the TDREPORT's REPORTDATA.
func (p *Provider) quoteEvidence(ctx context.Context, report *azure.HCLReport) (verifier.Evidence, error) {
	quote, err := p.IMDS.TDQuote(ctx, report.RawTDReport)
	if err != nil {
		return verifier.Evidence{}, fmt.Errorf("azure: %w", err)
	}
	reportData, err := tee.QuoteReportData(quote)
	if err != nil {
		return verifier.Evidence{}, fmt.Errorf("azure: imds quote: %w", err)
	}
	if !bytes.Equal(reportData, report.TDReport.ReportData) {
		return verifier.Evidence{}, fmt.Errorf("azure: imds quote REPORTDATA %x differs from the TDREPORT's %x", reportData, report.TDReport.ReportData)
	}
	return verifier.Evidence{
		Kind:        verifier.EvidenceAzureTDX,
		Quote:       quote,
		RuntimeData: bytes.Clone(report.RuntimeData),
	}, nil
}

// freshReport reads the HCL report until its runtime data carries v as
// user-data and its REPORTDATA commits to that runtime data. The paravisor
// may regenerate the report after the write returns, so a stale report is
// read again until the timeout.
func (p *Provider) freshReport(ctx context.Context, tpm transport.TPM, v binding.Value) (*azure.HCLReport, error) {
	timeout := p.ReportTimeout
	if timeout == 0 {
		timeout = DefaultReportTimeout
	}
	deadline := time.Now().Add(timeout)
	for {
		raw, err := ReadNV(tpm, ReportIndex)
		if err != nil {
			return nil, fmt.Errorf("azure: %w", err)
		}
		report, fresh, err := checkReport(raw, v)
		if err != nil {
			return nil, err
		}
		if fresh {
			return report, nil
		}

		if time.Now().After(deadline) {
			return nil, fmt.Errorf("azure: hcl report user-data still differs from the written binding %X after %s", v[:], timeout)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("azure: wait for hcl report: %w", ctx.Err())
		case <-time.After(reportPollInterval):
		}
	}
}

// checkReport parses an HCL report, checks that its REPORTDATA commits to
// its runtime data, and reports whether the runtime data carries v as
// user-data.
func checkReport(raw []byte, v binding.Value) (*azure.HCLReport, bool, error) {
	report, err := azure.ParseHCLReport(raw)
	if err != nil {
		return nil, false, err
	}
	runtimeData, err := azure.CheckLinks(report.TDReport.ReportData, report.RuntimeData)
	if err != nil {
		return nil, false, fmt.Errorf("azure: hcl report: %w", err)
	}
	return report, bytes.Equal(runtimeData.UserData, v[:]), nil
}
