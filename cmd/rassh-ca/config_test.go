package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const minimalConfig = `listen: 127.0.0.1:8443
ca_key: ca_key
store: rassh-ca.db
certificates:
  host_patterns: ["*.example.com"]
  lifetime: 2h
verifier:
  mode: local
  local:
    collateral: none
`

func TestLoadConfigResolvesPaths(t *testing.T) {
	path := writeConfig(t, minimalConfig)
	c, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.path(c.CAKey), filepath.Join(filepath.Dir(path), "ca_key"); got != want {
		t.Errorf("ca_key path %s, want %s", got, want)
	}
	if time.Duration(c.Certificates.Lifetime) != 2*time.Hour {
		t.Errorf("lifetime %v", time.Duration(c.Certificates.Lifetime))
	}
}

func TestLoadConfigRejects(t *testing.T) {
	for _, tc := range []struct{ name, text, err string }{
		{"unknown field", minimalConfig + "extra: 1\n", `unknown field "extra"`},
		{"wildcard pattern", strings.Replace(minimalConfig, `"*.example.com"`, `"*"`, 1), `invalid host pattern "*": matches every host`},
		{"bad mode", strings.Replace(minimalConfig, "mode: local", "mode: cloud", 1), `verifier.mode "cloud" is not local or maa`},
		{"bad duration", strings.Replace(minimalConfig, "lifetime: 2h", "lifetime: 2 hours", 1), `invalid duration "2 hours": time: unknown unit " hours" in duration "2 hours"`},
		{"numeric duration", strings.Replace(minimalConfig, "lifetime: 2h", "lifetime: 7200", 1), `invalid duration 7200, expected a string such as "10m"`},
		{"negative lifetime", strings.Replace(minimalConfig, "lifetime: 2h", "lifetime: -2h", 1), "certificates.lifetime, certificates.backdate and challenges.ttl must not be negative"},
		{"half TLS", minimalConfig + "tls:\n  cert: a.pem\n", "tls.cert and tls.key must both be set or both be empty"},
		{"collateral dir missing", strings.Replace(minimalConfig, "collateral: none", "collateral: dir", 1), "verifier.local.collateral is dir but collateral_dir is empty"},
		{"token service unknown field", minimalConfig + "token_service:\n  enabled: true\n  key: k\n  audience: x\n", `unknown field "audience"`},
		{"token service with maa", strings.Replace(minimalConfig, "mode: local", "mode: maa\n  maa:\n    instance_url: https://maa.example.com", 1) + "token_service:\n  enabled: true\n  key: k\n",
			`token_service.enabled needs verifier.mode local, not "maa"; with MAA, point ra-ssh agents at MAA itself`},
		{"token service without key", minimalConfig + "token_service:\n  enabled: true\n", "token_service.key is empty"},
		{"token service http issuer", minimalConfig + "token_service:\n  enabled: true\n  key: k\n  issuer: http://ca.example.com\n",
			`token_service.issuer: "http://ca.example.com" is not an https URL such as https://ca.example.com:8443`},
		{"negative challenge rate", minimalConfig + "challenges:\n  rate_per_source: -1\n", "challenges.rate_per_source and burst_per_source must not be negative"},
		{"negative max sources", minimalConfig + "api:\n  max_sources: -1\n", "api.max_sources must not be negative"},
		{"token service negative rate", minimalConfig + "token_service:\n  enabled: true\n  key: k\n  rate: -1\n", "token_service.token_lifetime, rate, burst, rate_per_source and burst_per_source must not be negative"},
		{"token service negative source burst", minimalConfig + "token_service:\n  enabled: true\n  key: k\n  burst_per_source: -1\n", "token_service.token_lifetime, rate, burst, rate_per_source and burst_per_source must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(writeConfig(t, tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want it to contain %s", err, tc.err)
			}
		})
	}
}

// TestInitConfigLoads checks that the commented file init writes loads as is.
func TestInitConfigLoads(t *testing.T) {
	o := initOptions{Dir: t.TempDir(), HostPatterns: []string{"*.example.com", "[*.example.com]:*"}, Listen: "127.0.0.1:8443", Collateral: "pcs", Policy: "/etc/rassh/policy.yaml",
		TokenService: true, TokenIssuer: "https://ca.example.com:8443", TokenAllowSimulated: true}
	if err := writeConfigFile(o); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(filepath.Join(o.Dir, configFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Certificates.HostPatterns) != 2 || c.Policy != "/etc/rassh/policy.yaml" || c.Verifier.Local.Collateral != "pcs" {
		t.Errorf("config %+v", c)
	}
	wantChallenges := ChallengesConfig{TTL: Duration(5 * time.Minute), RatePerSource: 0.2, BurstPerSource: 20}
	if c.Challenges != wantChallenges || c.API.MaxSources != 10000 {
		t.Errorf("challenges %+v, api %+v", c.Challenges, c.API)
	}
	want := TokenServiceConfig{Enabled: true, Key: tokenServiceKeyFile, Issuer: "https://ca.example.com:8443",
		TokenLifetime: Duration(5 * time.Minute), AllowSimulated: true, Rate: 2, Burst: 10, RatePerSource: 0.5, BurstPerSource: 5}
	if c.TokenService != want {
		t.Errorf("token_service %+v, expected %+v", c.TokenService, want)
	}
}

// TestInitConfigTokenServiceOff checks the file init writes with
// --token-service=false and no issuer.
func TestInitConfigTokenServiceOff(t *testing.T) {
	o := initOptions{Dir: t.TempDir(), HostPatterns: []string{"*.example.com"}, Listen: "127.0.0.1:8443", Collateral: "none"}
	if err := writeConfigFile(o); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(filepath.Join(o.Dir, configFile))
	if err != nil {
		t.Fatal(err)
	}
	if c.TokenService.Enabled || c.TokenService.Issuer != "" || c.TokenService.AllowSimulated {
		t.Errorf("token_service %+v, expected disabled, no issuer, no simulated TDs", c.TokenService)
	}
}

func TestTokenServiceIssuerDefault(t *testing.T) {
	bound := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40123}
	for _, tc := range []struct{ listen, issuer, want, err string }{
		{listen: "127.0.0.1:0", want: "https://127.0.0.1:40123"},
		{listen: "localhost:8443", want: "https://localhost:40123"},
		{listen: "[::1]:0", want: "https://[::1]:40123"},
		{listen: "0.0.0.0:8443", issuer: "https://ca.example.com", want: "https://ca.example.com"},
		{listen: "0.0.0.0:8443", err: `token service: listen address "0.0.0.0:8443" names no host that clients can use; set token_service.issuer to the CA's URL, for example https://ca.example.com:8443`},
		{listen: ":8443", err: `token service: listen address ":8443" names no host that clients can use; set token_service.issuer to the CA's URL, for example https://ca.example.com:8443`},
	} {
		cfg := &Config{Listen: tc.listen, TokenService: TokenServiceConfig{Issuer: tc.issuer}}
		got, err := tokenServiceIssuer(cfg, bound)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("listen %q: err %v, expected %s", tc.listen, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("listen %q, issuer %q: got %q, %v; expected %q", tc.listen, tc.issuer, got, err, tc.want)
		}
	}
}

func TestParavisorMRTDsConfig(t *testing.T) {
	cfg := &Config{}
	cfg.Verifier.Local.AzureParavisorMRTDs = []string{strings.Repeat("bb", 48)}
	got, err := cfg.paravisorMRTDs()
	if err != nil || len(got) != 1 || got[0][0] != 0xbb || len(got[0]) != 48 {
		t.Fatalf("paravisorMRTDs = %x, %v", got, err)
	}
	cfg.Verifier.Local.AzureParavisorMRTDs = []string{"bb"}
	_, err = cfg.paravisorMRTDs()
	want := `config: verifier.local.azure_paravisor_mrtds: invalid MRTD "bb", expected 96 hex digits`
	if err == nil || err.Error() != want {
		t.Fatalf("short MRTD: error %v, want %s", err, want)
	}
}

func TestMAAInstanceURLMustBeHTTPS(t *testing.T) {
	for _, bad := range []string{"http://127.0.0.1:8080", "http://127.0.0.1.attacker.example", "https://", "ftp://maa.example"} {
		cfg := &Config{}
		cfg.Verifier.Mode = "maa"
		cfg.Verifier.MAA.InstanceURL = bad
		err := cfg.validate()
		want := fmt.Sprintf("verifier.maa.instance_url %q must be an https URL", bad)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("instance_url %q: error %v, want it to contain %s", bad, err, want)
		}
	}
}

func TestLoadConfigRenamedField(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("certificates:\n  require_host_key_proof: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := loadConfig(path)
	want := `unknown field "require_host_key_proof" (require_host_key_proof was replaced by certificates.allow_missing_host_key_proof`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want it to contain %s", err, want)
	}
}
