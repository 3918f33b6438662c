package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/rassh/rassh/ca"
	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/local"
	"github.com/rassh/rassh/verifier/maa"
	"github.com/rassh/rassh/verifier/policy"
	"github.com/rassh/rassh/verifier/tdx"
	"github.com/rassh/rassh/verifier/token"
)

// newEvidenceVerifier builds the verifier that the configuration selects:
// quotes verified here (local) or by Microsoft Azure Attestation (maa).
func newEvidenceVerifier(cfg *Config, logger *slog.Logger) (ca.EvidenceVerifier, error) {
	switch cfg.Verifier.Mode {
	case "local":
		return newLocalVerifier(cfg, logger)
	case "maa":
		return newMAAVerifier(cfg)
	}
	return nil, fmt.Errorf("verifier mode %q unknown", cfg.Verifier.Mode)
}

func newLocalVerifier(cfg *Config, logger *slog.Logger) (ca.EvidenceVerifier, error) {
	l := cfg.Verifier.Local
	v := &tdx.Verifier{}
	switch l.Collateral {
	case "pcs":
		v.Collateral = &tdx.PCSClient{BaseURL: l.PCSBaseURL, CacheDir: cfg.path(l.PCSCacheDir)}
	case "dir":
		v.Collateral = tdx.NewDirCollateral(cfg.path(l.CollateralDir))
	}
	if len(l.SimulationRoots) > 0 {
		pool, err := loadRoots(cfg, l.SimulationRoots)
		if err != nil {
			return nil, err
		}
		v.SimulationRoots = pool
		logger.Warn("simulated TDs are trusted: development only", "simulation_roots", strings.Join(l.SimulationRoots, ","))
	}
	return &local.Backend{Quotes: v}, nil
}

func loadRoots(cfg *Config, files []string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, f := range files {
		b, err := os.ReadFile(cfg.path(f))
		if err != nil {
			return nil, fmt.Errorf("load simulation root: %w", err)
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("load simulation root %s: no PEM certificate in it", f)
		}
	}
	return pool, nil
}

// maaVerifier verifies evidence by sending it to MAA and checking the token
// it returns.
type maaVerifier struct{ client *maa.Client }

func (m maaVerifier) Verify(ctx context.Context, ev verifier.Evidence) (*verifier.Claims, error) {
	_, claims, err := m.client.Attest(ctx, ev)
	return claims, err
}

func newMAAVerifier(cfg *Config) (ca.EvidenceVerifier, error) {
	c := cfg.Verifier.MAA
	tokens := &token.Verifier{
		Issuers:     []token.IssuerConfig{{Issuer: c.InstanceURL, Kind: token.KindMAA}},
		KeyCacheDir: cfg.path(c.KeyCacheDir),
	}
	return maaVerifier{client: &maa.Client{InstanceURL: c.InstanceURL, APIVersion: c.APIVersion, Tokens: tokens}}, nil
}

func loadPolicy(cfg *Config) (*policy.Policy, error) {
	if cfg.Policy == "" {
		return policy.DefaultCA(), nil
	}
	return policy.Load(cfg.path(cfg.Policy))
}
