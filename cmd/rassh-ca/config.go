package main

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/rassh/rassh/ca"
	"github.com/rassh/rassh/internal/boundedfile"
	"github.com/rassh/rassh/internal/yamlconfig"
)

// maxConfigSize bounds the configuration file.
const maxConfigSize = 1 << 20

// Config is the CA's configuration file (YAML or JSON). Relative paths are
// relative to the directory of the file. Unknown fields are errors.
type Config struct {
	Listen string `json:"listen"`
	// CAKey is the CA's private key in OpenSSH format (mode 0600).
	CAKey string `json:"ca_key"`
	// Store is the bbolt file.
	Store string `json:"store"`

	TLS          TLSConfig          `json:"tls"`
	Log          LogConfig          `json:"log"`
	Certificates CertificatesConfig `json:"certificates"`
	Challenges   ChallengesConfig   `json:"challenges"`
	API          APIConfig          `json:"api"`
	Verifier     VerifierConfig     `json:"verifier"`
	TokenService TokenServiceConfig `json:"token_service"`
	// Policy is the attestation policy file; empty means the default CA
	// policy (collateral required, TCB status UpToDate, no debug or
	// simulated TDs).
	Policy string `json:"policy"`

	dir string // the directory of the file, for relative paths
}

// TLSConfig names the server certificate. When Cert and Key are both empty,
// the server uses self-signed.crt and self-signed.key in the configuration's
// directory, generating them on first use (for development).
type TLSConfig struct {
	Cert string `json:"cert"`
	Key  string `json:"key"`
	// Hosts are the DNS names and IP addresses of a generated certificate.
	Hosts []string `json:"hosts"`
}

// LogConfig selects the log format ("json" or "text") and level ("debug",
// "info", "warn" or "error").
type LogConfig struct {
	Format string `json:"format"`
	Level  string `json:"level"`
}

// CertificatesConfig shapes the issued host certificates.
type CertificatesConfig struct {
	// HostPatterns are the globs every principal must match; they are also
	// the patterns of the "@cert-authority" line the CA serves.
	HostPatterns []string `json:"host_patterns"`
	Lifetime     Duration `json:"lifetime"`
	Backdate     Duration `json:"backdate"`
	RequireRASSH bool     `json:"require_ra_ssh"`
	// AllowMissingHostKeyProof accepts enrollments that do not sign the
	// enrollment binding with each host key, for agents that cannot read
	// their private keys. Off by default. Signatures that are sent are
	// verified either way.
	AllowMissingHostKeyProof bool `json:"allow_missing_host_key_proof"`
}

// ChallengesConfig sets how long an enrollment nonce may be used and how
// many one source address may get: a burst of BurstPerSource, then
// RatePerSource per second. Zero means 0.2 per second and a burst of 20.
type ChallengesConfig struct {
	TTL            Duration `json:"ttl"`
	RatePerSource  float64  `json:"rate_per_source"`
	BurstPerSource int      `json:"burst_per_source"`
}

// APIConfig sets request limits. MaxSources bounds the source addresses
// whose rate limits are kept in memory; zero means 10000.
type APIConfig struct {
	MaxBodyBytes int64 `json:"max_body_bytes"`
	MaxSources   int   `json:"max_sources"`
}

// VerifierConfig chooses how evidence is verified: "local" or "maa".
type VerifierConfig struct {
	Mode  string      `json:"mode"`
	Local LocalConfig `json:"local"`
	MAA   MAAConfig   `json:"maa"`
}

// LocalConfig configures local quote verification.
type LocalConfig struct {
	// Collateral is "pcs" to fetch from Intel PCS into PCSCacheDir, "dir" to
	// read Intel PCS response files from CollateralDir, or "none". With none
	// there is no TCB status, so the default policy rejects every quote.
	Collateral    string `json:"collateral"`
	CollateralDir string `json:"collateral_dir"`
	PCSBaseURL    string `json:"pcs_base_url"`
	PCSCacheDir   string `json:"pcs_cache_dir"`
	// SimulationRoots are PEM files of simulated-TD root certificates whose
	// quotes are accepted (marked simulated). Development and tests only.
	SimulationRoots []string `json:"simulation_roots"`
	// AzureParavisorMRTDs are the MRTDs (96 hex digits each) of the Azure
	// paravisor versions whose locally verified quotes may carry a vmUniqueId
	// identity. Without them only join tokens enroll Azure hosts in local
	// mode, because any TD can quote runtime data of its own making.
	AzureParavisorMRTDs []string `json:"azure_paravisor_mrtds"`
}

// MAAConfig configures Microsoft Azure Attestation.
type MAAConfig struct {
	InstanceURL string `json:"instance_url"`
	APIVersion  string `json:"api_version"`
	// KeyCacheDir keeps MAA's signing keys on disk between fetches.
	KeyCacheDir string `json:"key_cache_dir"`
}

// TokenServiceConfig configures the CA's attestation token service (POST
// /v1/attest, GET /v1/jwks, GET /.well-known/openid-configuration), the
// token source of ra-ssh agents on hosts without MAA. It needs verifier
// mode local, because it verifies evidence with the local backend.
type TokenServiceConfig struct {
	Enabled bool `json:"enabled"`
	// Key is the token signing key (ECDSA P-256, PKCS#8 PEM, mode 0600).
	// It is never the SSH CA key.
	Key string `json:"key"`
	// Issuer is the exact "iss" of every token and the base URL of
	// /v1/jwks: the URL that clients pin. Empty means "https://" followed by
	// the listen address, with the port the server actually bound.
	Issuer string `json:"issuer"`
	// TokenLifetime is exp - iat of each token. Zero means 5m.
	TokenLifetime Duration `json:"token_lifetime"`
	// AllowSimulated issues tokens for simulated TDs. Development only.
	AllowSimulated bool `json:"allow_simulated"`
	// Rate is the number of attest requests per second accepted from all
	// clients together, and Burst the number that may arrive at once. Zero
	// means 2 per second and a burst of 10.
	Rate  float64 `json:"rate"`
	Burst int     `json:"burst"`
	// RatePerSource and BurstPerSource limit one source address (an IPv4
	// address or an IPv6 /64) in the same way. Zero means 0.5 per second and
	// a burst of 5.
	RatePerSource  float64 `json:"rate_per_source"`
	BurstPerSource int     `json:"burst_per_source"`
}

// Duration is a time.Duration written as a Go duration string ("8h", "5m").
type Duration = yamlconfig.Duration

// loadConfig reads and validates the configuration file at path.
func loadConfig(path string) (*Config, error) {
	b, err := boundedfile.Read(path, maxConfigSize)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	var c Config
	if err := yamlconfig.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("load config %s: %w%s", path, err, renamedFieldHint(err))
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	c.dir = filepath.Dir(abs)
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	return &c, nil
}

// renamedFields maps configuration fields that earlier versions of init
// wrote to what replaced them.
var renamedFields = map[string]string{
	"require_host_key_proof": "certificates.allow_missing_host_key_proof (inverted; false, the default, requires the proof)",
}

// renamedFieldHint returns advice for an unknown-field error about a renamed
// field, or "".
func renamedFieldHint(err error) string {
	for old, replacement := range renamedFields {
		if strings.Contains(err.Error(), `unknown field "`+old+`"`) {
			return fmt.Sprintf(" (%s was replaced by %s)", old, replacement)
		}
	}
	return ""
}

// path resolves a path from the file against the file's directory; "" stays "".
func (c *Config) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

func (c *Config) validate() error {
	var errs []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	check(c.Listen != "", "listen is empty")
	check(c.CAKey != "", "ca_key is empty")
	check(c.Store != "", "store is empty")
	check((c.TLS.Cert == "") == (c.TLS.Key == ""), "tls.cert and tls.key must both be set or both be empty")
	check(oneOf(c.Log.Format, "", "json", "text"), "log.format %q is not json or text", c.Log.Format)
	check(oneOf(c.Log.Level, "", "debug", "info", "warn", "error"), "log.level %q is not debug, info, warn or error", c.Log.Level)
	check(len(c.Certificates.HostPatterns) > 0, "certificates.host_patterns is empty; name the fleet's domains, for example \"*.fleet.example.com\"")
	for _, p := range c.Certificates.HostPatterns {
		if err := ca.ValidatePattern(p); err != nil {
			errs = append(errs, "certificates.host_patterns: "+err.Error())
		}
	}
	check(c.Certificates.Lifetime >= 0 && c.Certificates.Backdate >= 0 && c.Challenges.TTL >= 0, "certificates.lifetime, certificates.backdate and challenges.ttl must not be negative")
	check(c.API.MaxBodyBytes >= 0, "api.max_body_bytes must not be negative")
	check(c.API.MaxSources >= 0, "api.max_sources must not be negative")
	check(c.Challenges.RatePerSource >= 0 && c.Challenges.BurstPerSource >= 0, "challenges.rate_per_source and burst_per_source must not be negative")
	switch c.Verifier.Mode {
	case "local":
		l := c.Verifier.Local
		check(oneOf(l.Collateral, "pcs", "dir", "none"), "verifier.local.collateral %q is not pcs, dir or none", l.Collateral)
		check(l.Collateral != "dir" || l.CollateralDir != "", "verifier.local.collateral is dir but collateral_dir is empty")
	case "maa":
		u, err := url.Parse(c.Verifier.MAA.InstanceURL)
		check(err == nil && u.Scheme == "https" && u.Host != "",
			"verifier.maa.instance_url %q must be an https URL", c.Verifier.MAA.InstanceURL)
	default:
		errs = append(errs, fmt.Sprintf("verifier.mode %q is not local or maa", c.Verifier.Mode))
	}
	errs = append(errs, c.TokenService.validate(c.Verifier.Mode)...)
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func (t *TokenServiceConfig) validate(verifierMode string) []string {
	if !t.Enabled {
		return nil
	}
	var errs []string
	if verifierMode != "local" {
		errs = append(errs, fmt.Sprintf("token_service.enabled needs verifier.mode local, not %q; with MAA, point ra-ssh agents at MAA itself", verifierMode))
	}
	if t.Key == "" {
		errs = append(errs, "token_service.key is empty")
	}
	if t.Issuer != "" {
		if err := checkIssuerURL(t.Issuer); err != nil {
			errs = append(errs, "token_service.issuer: "+err.Error())
		}
	}
	if t.TokenLifetime < 0 || t.Rate < 0 || t.Burst < 0 || t.RatePerSource < 0 || t.BurstPerSource < 0 {
		errs = append(errs, "token_service.token_lifetime, rate, burst, rate_per_source and burst_per_source must not be negative")
	}
	return errs
}

// checkIssuerURL accepts an absolute https URL without query or fragment,
// the form of a token issuer that clients pin.
func checkIssuerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("invalid URL: %w", err)
	}
	if u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q is not an https URL such as https://ca.example.com:8443", s)
	}
	return nil
}

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

// paravisorMRTDs decodes verifier.local.azure_paravisor_mrtds.
func (c *Config) paravisorMRTDs() ([][]byte, error) {
	var out [][]byte
	for _, h := range c.Verifier.Local.AzureParavisorMRTDs {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 48 {
			return nil, fmt.Errorf("config: verifier.local.azure_paravisor_mrtds: invalid MRTD %q, expected 96 hex digits", h)
		}
		out = append(out, b)
	}
	return out, nil
}
