package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/rassh/rassh/verifier/tokenissuer"
)

// newTokenService builds the token service that token_service configures,
// verifying evidence with ev, the enrollment path's local backend. addr is
// the address the server listens on. It returns nil when the service is off.
func newTokenService(cfg *Config, addr net.Addr, ev tokenissuer.EvidenceVerifier, logger *slog.Logger) (http.Handler, error) {
	t := cfg.TokenService
	if !t.Enabled {
		return nil, nil
	}
	issuerURL, err := tokenServiceIssuer(cfg, addr)
	if err != nil {
		return nil, err
	}
	issuer, err := tokenissuer.Load(cfg.path(t.Key), issuerURL)
	if err != nil {
		return nil, err
	}
	issuer.Lifetime = time.Duration(t.TokenLifetime)

	logger.Info("token service enabled", "issuer", issuer.URL, "jwks_url", issuer.URL+"/v1/jwks", "kid", issuer.Kid())
	if t.AllowSimulated {
		logger.Warn("token service issues tokens for simulated TDs: development only")
	}
	return issuer.Handler(ev, tokenissuer.HandlerOptions{
		AllowSimulated: t.AllowSimulated,
		Rate:           t.Rate,
		Burst:          t.Burst,
		RatePerSource:  t.RatePerSource,
		BurstPerSource: t.BurstPerSource,
		MaxSources:     cfg.API.MaxSources,
		MaxBodySize:    cfg.API.MaxBodyBytes,
		Logger:         logger.With("component", "token-service"),
	}), nil
}

// tokenServiceIssuer returns token_service.issuer, or when it is empty
// "https://" followed by the listen address's host and the bound port (so
// that listen "127.0.0.1:0" yields the real port).
func tokenServiceIssuer(cfg *Config, addr net.Addr) (string, error) {
	if cfg.TokenService.Issuer != "" {
		return cfg.TokenService.Issuer, nil
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return "", fmt.Errorf("token service: listen address %q: %w", cfg.Listen, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return "", fmt.Errorf("token service: listen address %q names no host that clients can use; set token_service.issuer to the CA's URL, for example https://ca.example.com:8443", cfg.Listen)
	}
	_, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "", fmt.Errorf("token service: bound address %q: %w", addr, err)
	}
	return "https://" + net.JoinHostPort(host, port), nil
}
