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
	path := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDeployExampleConfigLoads(t *testing.T) {
	cfg, err := loadConfig("../../deploy/agent.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CA.URL != "https://ca.example.com:8443" || cfg.Evidence.Kind != "configfs-tsm" {
		t.Errorf("config = %+v", cfg)
	}
	if len(cfg.Host.Keys) != 0 {
		t.Errorf("host keys = %q, want none: the example keeps them in the agent's memory", cfg.Host.Keys)
	}
	if time.Duration(cfg.Renewal.MaxBackoff) != 5*time.Minute || time.Duration(cfg.Reload.Timeout) != 30*time.Second {
		t.Errorf("durations = %+v %+v", cfg.Renewal, cfg.Reload)
	}
	r := cfg.RASSH
	if r == nil {
		t.Fatal("ra_ssh section missing from the example")
	}
	if r.HostKeyAgentSocket != "/run/rassh/hostkey.sock" || r.Socket != "/run/ra-ssh/ra-ssh.sock" ||
		r.PublicKeyDir != "/etc/ssh" || cfg.Host.CertDir != "/etc/ssh" {
		t.Errorf("paths: hostkey agent %q, ra-ssh %q, public keys %q, certificates %q",
			r.HostKeyAgentSocket, r.Socket, r.PublicKeyDir, cfg.Host.CertDir)
	}
}

func TestDeployFileKeysConfigLoads(t *testing.T) {
	cfg, err := loadConfig("../../deploy/file-keys/agent.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Host.Keys) != 1 || cfg.Host.Keys[0] != "/etc/ssh/ssh_host_ed25519_key" {
		t.Errorf("host keys = %q, want /etc/ssh/ssh_host_ed25519_key", cfg.Host.Keys)
	}
}

const minimalConfig = `
ca:
  url: https://ca.example.com
  ssh_ca_keys_file: /var/lib/rassh/ssh-ca.pub
host:
  keys: [/etc/ssh/ssh_host_ed25519_key]
evidence:
  kind: configfs-tsm
`

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"unknown field", minimalConfig + "extra: 1\n", `unknown field "extra"`},
		{"unknown nested field", strings.Replace(minimalConfig, "kind: configfs-tsm", "kind: configfs-tsm\n  device: /dev/x", 1), `unknown field "device"`},
		{"no url", strings.Replace(minimalConfig, "url: https://ca.example.com", "url: \"\"", 1), "ca.url is not set"},
		{"plain http", strings.Replace(minimalConfig, "https://", "http://", 1), `ca.url "http://ca.example.com" must start with https://`},
		{"no CA keys", strings.Replace(minimalConfig, "ssh_ca_keys_file: /var/lib/rassh/ssh-ca.pub", "", 1), "set ca.ssh_ca_keys or ca.ssh_ca_keys_file"},
		{"no host keys", strings.Replace(minimalConfig, "keys: [/etc/ssh/ssh_host_ed25519_key]", "principals: [a]", 1), "host.keys is empty"},
		{"keys and agent", minimalConfig + "ra_ssh:\n  hostkey_agent_socket: /run/rassh/hk.sock\n  generate_host_keys: [ed25519]\n", "host.keys must be empty when ra_ssh.hostkey_agent_socket holds the host keys"},
		{"bad duration", minimalConfig + "renewal:\n  min_backoff: soon\n", `invalid duration "soon"`},
		{"backoff order", minimalConfig + "renewal:\n  min_backoff: 1m\n  max_backoff: 1s\n", "renewal.min_backoff 1m0s exceeds renewal.max_backoff 1s"},
		{"bad ra_ssh", minimalConfig + "ra_ssh:\n  modes: [sometimes]\n", `ra_ssh: invalid mode "sometimes"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(writeConfig(t, tt.text))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, expected one containing %q", err, tt.want)
			}
		})
	}
}

func TestConfigJSON(t *testing.T) {
	path := writeConfig(t, `{"ca": {"url": "https://ca", "ssh_ca_keys": ["ssh-ed25519 AAAA"]},
		"host": {"keys": ["/k"]}, "evidence": {"kind": "tdx-guest"}}`)
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Evidence.Kind != "tdx-guest" || cfg.CA.SSHCAKeys[0] != "ssh-ed25519 AAAA" {
		t.Errorf("config = %+v", cfg)
	}
}

func TestInMemoryKeysCertDir(t *testing.T) {
	text := strings.Replace(minimalConfig, "keys: [/etc/ssh/ssh_host_ed25519_key]", "principals: [a.example.com]", 1) +
		"ra_ssh:\n  hostkey_agent_socket: /run/rassh/hk.sock\n  generate_host_keys: [ed25519]\n  public_key_dir: /run/rassh\n"
	cfg, err := loadConfig(writeConfig(t, text))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.inMemoryKeys() || cfg.certDir() != "/run/rassh" {
		t.Errorf("in memory %v, cert dir %s", cfg.inMemoryKeys(), cfg.certDir())
	}
}

func TestJoinTokenFile(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	cfg := &config{Host: hostConfig{JoinTokenFile: empty}}
	if _, err := cfg.joinToken(); err == nil || err.Error() != "join token: "+empty+" is empty" {
		t.Errorf("error = %v", err)
	}
	token := filepath.Join(dir, "token")
	os.WriteFile(token, []byte("abc\n"), 0o600)
	cfg.Host.JoinTokenFile = token
	if got, err := cfg.joinToken(); err != nil || got != "abc" {
		t.Errorf("token = %q, %v", got, err)
	}
}

func TestCommandConfigHelpAndErrors(t *testing.T) {
	if _, _, status, ok := loadCommandConfig("run", "summary", []string{"-h"}); ok || status != exitOK {
		t.Errorf("-h: ok %v status %d, want false and %d", ok, status, exitOK)
	}
	if _, _, status, ok := loadCommandConfig("run", "summary", []string{"extra"}); ok || status != exitUsage {
		t.Errorf("extra argument: ok %v status %d, want false and %d", ok, status, exitUsage)
	}
	if _, _, status, ok := loadCommandConfig("run", "summary", []string{"--config", "/nonexistent/agent.yaml"}); ok || status != exitUsage {
		t.Errorf("missing file: ok %v status %d, want false and %d", ok, status, exitUsage)
	}
	cfg, _, _, ok := loadCommandConfig("run", "summary", []string{"--config", "../../deploy/agent.yaml"})
	if !ok || cfg.CA.URL != "https://ca.example.com:8443" {
		t.Errorf("deploy example: ok %v config %+v", ok, cfg)
	}
}
