package tee

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-configfs-tsm/configfs/configfsi"
	"github.com/google/go-configfs-tsm/configfs/linuxtsm"
	"github.com/google/go-configfs-tsm/report"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/binding"
)

// tdxProvider is the configfs-tsm provider name of the Linux TDX guest driver.
const tdxProvider = "tdx_guest"

// ConfigFSTSM gets quotes through the configfs-tsm report subsystem at
// /sys/kernel/config/tsm/report (Linux 6.7 and later): it writes the binding
// value to a report entry's inblob and reads the quote from its outblob.
type ConfigFSTSM struct {
	// Client performs the configfs file operations. Nil means the kernel's
	// configfs, which must have the report subsystem.
	Client configfsi.Client
}

// Evidence returns a quote whose REPORTDATA is v. The report package checks
// the entry's generation counter, so a quote made for another writer of the
// same entry is rejected.
func (p *ConfigFSTSM) Evidence(ctx context.Context, v binding.Value) (verifier.Evidence, error) {
	client := p.Client
	if client == nil {
		var err error
		client, err = linuxtsm.MakeClient()
		if err != nil {
			return verifier.Evidence{}, fmt.Errorf("configfs-tsm: report subsystem unavailable: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return verifier.Evidence{}, fmt.Errorf("configfs-tsm: %w", err)
	}

	resp, err := report.Get(client, &report.Request{InBlob: v[:]})
	if err != nil {
		return verifier.Evidence{}, fmt.Errorf("configfs-tsm: get report: %w", err)
	}
	if provider := strings.TrimSpace(resp.Provider); provider != tdxProvider {
		return verifier.Evidence{}, fmt.Errorf("configfs-tsm: provider is %q, expected %q", provider, tdxProvider)
	}
	return quoteEvidence("configfs-tsm", resp.OutBlob, v)
}
