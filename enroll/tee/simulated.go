package tee

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/binding"
	"github.com/rassh/rassh/verifier/tdx/tdxsim"
)

// SimulatedConfig configures a simulated TD. Measurements are hex, empty
// (all zero) or 48 bytes.
type SimulatedConfig struct {
	// AuthorityDir holds the simulation PCK chain and keys that
	// tdxsim.Authority.Save wrote. The CA accepts the quotes only when its
	// configuration names that authority's root.pem.
	AuthorityDir string `json:"authority_dir"`
	MRTD         string `json:"mrtd,omitempty"`
	// MRConfigID, MROwner and MROwnerConfig carry a host identity that a
	// registration on the CA can name, as the VM owner would set it at launch.
	MRConfigID    string    `json:"mrconfigid,omitempty"`
	MROwner       string    `json:"mrowner,omitempty"`
	MROwnerConfig string    `json:"mrownerconfig,omitempty"`
	RTMRs         [4]string `json:"rtmrs,omitempty"`
	Debug         bool      `json:"debug,omitempty"`
}

// Simulated makes software quotes signed by a simulation PCK chain. It
// exists for development and tests only: it proves nothing about the machine
// it runs on.
type Simulated struct {
	Authority *tdxsim.Authority
	TD        tdxsim.TDConfig
}

// NewSimulated loads the authority and TD state that cfg names, and logs a
// warning that quotes are simulated.
func NewSimulated(cfg SimulatedConfig, logger *slog.Logger) (*Simulated, error) {
	if cfg.AuthorityDir == "" {
		return nil, fmt.Errorf("simulated TD: authority_dir is not set")
	}
	authority, err := tdxsim.LoadAuthority(cfg.AuthorityDir)
	if err != nil {
		return nil, fmt.Errorf("simulated TD: %w", err)
	}
	td, err := cfg.tdConfig()
	if err != nil {
		return nil, fmt.Errorf("simulated TD: %w", err)
	}
	logger.Warn("SIMULATED TD: evidence is made in software and proves nothing about this machine; never use it in production",
		"authority_dir", cfg.AuthorityDir)
	return &Simulated{Authority: authority, TD: td}, nil
}

func (cfg SimulatedConfig) tdConfig() (tdxsim.TDConfig, error) {
	var td tdxsim.TDConfig
	fields := []struct {
		name string
		hex  string
		dst  *[]byte
	}{
		{"mrtd", cfg.MRTD, &td.MRTD},
		{"mrconfigid", cfg.MRConfigID, &td.MRConfigID},
		{"mrowner", cfg.MROwner, &td.MROwner},
		{"mrownerconfig", cfg.MROwnerConfig, &td.MROwnerConfig},
		{"rtmrs[0]", cfg.RTMRs[0], &td.RTMRs[0]},
		{"rtmrs[1]", cfg.RTMRs[1], &td.RTMRs[1]},
		{"rtmrs[2]", cfg.RTMRs[2], &td.RTMRs[2]},
		{"rtmrs[3]", cfg.RTMRs[3], &td.RTMRs[3]},
	}
	for _, f := range fields {
		if f.hex == "" {
			continue
		}
		b, err := hex.DecodeString(f.hex)
		if err != nil || len(b) != 48 {
			return td, fmt.Errorf("invalid %s %q, expected 96 hex digits (quoted in YAML, which reads unquoted digits as a number)", f.name, f.hex)
		}
		*f.dst = b
	}
	td.Debug = cfg.Debug
	return td, nil
}

// Evidence returns a simulated quote whose REPORTDATA is v.
func (p *Simulated) Evidence(ctx context.Context, v binding.Value) (verifier.Evidence, error) {
	if err := ctx.Err(); err != nil {
		return verifier.Evidence{}, fmt.Errorf("simulated TD: %w", err)
	}
	quote, err := p.Authority.Quote(v, p.TD)
	if err != nil {
		return verifier.Evidence{}, fmt.Errorf("simulated TD: %w", err)
	}
	return quoteEvidence("simulated TD", quote, v)
}
