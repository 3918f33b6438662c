package main

import (
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
		{"bad duration", strings.Replace(minimalConfig, "lifetime: 2h", "lifetime: 2 hours", 1), `time: unknown unit " hours" in duration "2 hours"`},
		{"half TLS", minimalConfig + "tls:\n  cert: a.pem\n", "tls.cert and tls.key must both be set or both be empty"},
		{"collateral dir missing", strings.Replace(minimalConfig, "collateral: none", "collateral: dir", 1), "verifier.local.collateral is dir but collateral_dir is empty"},
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
	o := initOptions{Dir: t.TempDir(), HostPatterns: []string{"*.example.com", "[*.example.com]:*"}, Listen: "127.0.0.1:8443", Collateral: "pcs", Policy: "/etc/rassh/policy.yaml"}
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
}
