package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/enroll"
	"github.com/rassh/rassh/enroll/rasshd"
	"github.com/rassh/rassh/internal/boundedfile"
	"github.com/rassh/rassh/internal/yamlconfig"
)

// maxConfigSize bounds the configuration file.
const maxConfigSize = 1 << 20

// config is the agent's configuration file, YAML or JSON. Unknown fields
// are rejected. deploy/agent.yaml is a commented example.
type config struct {
	CA       caConfig              `json:"ca"`
	Host     hostConfig            `json:"host"`
	Evidence enroll.ProviderConfig `json:"evidence"`
	Reload   reloadConfig          `json:"reload"`
	Renewal  renewalConfig         `json:"renewal"`
	// RASSH configures the ra-ssh server that run starts next to renewal;
	// nil means none.
	RASSH *rasshd.Config `json:"ra_ssh,omitempty"`
}

type caConfig struct {
	// URL of the CA without /v1, for example https://ca.example.com:8443.
	URL string `json:"url"`
	// TLSFingerprint pins the CA server's certificate (SHA-256 of its DER,
	// hex), for a CA with a self-signed development certificate.
	TLSFingerprint string `json:"tls_fingerprint,omitempty"`
	// CABundle is a PEM file of roots for the CA server; empty means the
	// system roots.
	CABundle string `json:"ca_bundle,omitempty"`
	// SSHCAKeys are the trusted SSH CA public keys, as authorized_keys lines.
	SSHCAKeys []string `json:"ssh_ca_keys,omitempty"`
	// SSHCAKeysFile holds the trusted SSH CA keys. When it does not exist,
	// the agent fetches GET /v1/ca once over the authenticated TLS
	// connection and stores the keys there.
	SSHCAKeysFile string `json:"ssh_ca_keys_file,omitempty"`
}

type hostConfig struct {
	// Keys are sshd's HostKey files (private key paths, or .pub files).
	// Leave empty when ra_ssh holds the keys in memory.
	Keys []string `json:"keys,omitempty"`
	// Principals to request; empty takes all the CA allows this host.
	Principals []string `json:"principals,omitempty"`
	// JoinTokenFile holds a one-time join token for the first enrollment.
	JoinTokenFile string `json:"join_token_file,omitempty"`
	// RequireRASSH requests that the CA mark the certificates as requiring ra-ssh.
	RequireRASSH bool `json:"require_ra_ssh,omitempty"`
	// CertDir is the directory for certificates of in-memory keys. Empty
	// means ra_ssh.public_key_dir, where sshd finds their public keys.
	CertDir string `json:"cert_dir,omitempty"`
}

type reloadConfig struct {
	// Command makes sshd load new certificates, run without a shell, for
	// example ["systemctl", "reload", "ssh"]. Empty means none.
	Command []string        `json:"command,omitempty"`
	Timeout rasshd.Duration `json:"timeout,omitempty"`
}

type renewalConfig struct {
	// MinBackoff and MaxBackoff bound the retry delays after a failure.
	MinBackoff rasshd.Duration `json:"min_backoff,omitempty"`
	MaxBackoff rasshd.Duration `json:"max_backoff,omitempty"`
}

// loadConfig reads and checks the configuration file at path.
func loadConfig(path string) (*config, error) {
	data, err := boundedfile.Read(path, maxConfigSize)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var cfg config
	if err := yamlconfig.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &cfg, nil
}

func (c *config) check() error {
	switch {
	case c.CA.URL == "":
		return errors.New("ca.url is not set")
	case !strings.HasPrefix(c.CA.URL, "https://"):
		return fmt.Errorf("ca.url %q must start with https://", c.CA.URL)
	case len(c.CA.SSHCAKeys) == 0 && c.CA.SSHCAKeysFile == "":
		return errors.New("set ca.ssh_ca_keys or ca.ssh_ca_keys_file: the agent checks certificates against them")
	case c.inMemoryKeys() && len(c.Host.Keys) > 0:
		return errors.New("host.keys must be empty when ra_ssh.hostkey_agent_socket holds the host keys")
	case !c.inMemoryKeys() && len(c.Host.Keys) == 0:
		return errors.New("host.keys is empty: name sshd's HostKey files")
	case c.Renewal.MinBackoff < 0 || c.Renewal.MaxBackoff < 0 || c.Reload.Timeout < 0:
		return errors.New("durations must not be negative")
	case c.Renewal.MaxBackoff > 0 && c.Renewal.MinBackoff > c.Renewal.MaxBackoff:
		return fmt.Errorf("renewal.min_backoff %v exceeds renewal.max_backoff %v", time.Duration(c.Renewal.MinBackoff), time.Duration(c.Renewal.MaxBackoff))
	}
	if c.RASSH != nil {
		return c.RASSH.Check()
	}
	return nil
}

// inMemoryKeys reports whether the ra-ssh HostKeyAgent holds the host keys.
func (c *config) inMemoryKeys() bool {
	return c.RASSH != nil && c.RASSH.HostKeyAgentSocket != ""
}

// certDir returns where certificates of in-memory keys go.
func (c *config) certDir() string {
	switch {
	case c.Host.CertDir != "":
		return c.Host.CertDir
	case c.RASSH != nil && c.RASSH.PublicKeyDir != "":
		return c.RASSH.PublicKeyDir
	}
	return "/etc/ssh"
}

// joinToken reads the join token file, if one is configured.
func (c *config) joinToken() (string, error) {
	if c.Host.JoinTokenFile == "" {
		return "", nil
	}
	data, err := boundedfile.Read(c.Host.JoinTokenFile, 4096)
	if err != nil {
		return "", fmt.Errorf("join token: %w", err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", fmt.Errorf("join token: %s is empty", c.Host.JoinTokenFile)
	}
	return token, nil
}

// caKeys returns the trusted SSH CA keys: those in the config, else those
// in ssh_ca_keys_file, which is filled from GET /v1/ca on first use.
func (c *config) caKeys(ctx context.Context, client *enroll.Client, logger *slog.Logger) ([]ssh.PublicKey, error) {
	if len(c.CA.SSHCAKeys) > 0 {
		keys, err := enroll.ParseCAKeys(c.CA.SSHCAKeys)
		if err != nil {
			return nil, usageError{fmt.Errorf("ca.ssh_ca_keys: %w", err)}
		}
		return keys, nil
	}
	data, err := boundedfile.Read(c.CA.SSHCAKeysFile, maxConfigSize)
	if err == nil {
		keys, err := enroll.ParseCAKeys(strings.Split(string(data), "\n"))
		if err != nil {
			return nil, usageError{fmt.Errorf("ssh CA keys %s: %w", c.CA.SSHCAKeysFile, err)}
		}
		return keys, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("ssh CA keys: %w", err)
	}

	keys, err := client.CAKeys(ctx)
	if err != nil {
		return nil, err
	}
	var lines []byte
	for _, k := range keys {
		lines = append(lines, ssh.MarshalAuthorizedKey(k)...)
	}
	if err := os.MkdirAll(filepath.Dir(c.CA.SSHCAKeysFile), 0o755); err != nil {
		return nil, fmt.Errorf("store ssh CA keys: %w", err)
	}
	if err := enroll.WriteFileAtomic(c.CA.SSHCAKeysFile, lines, 0o644); err != nil {
		return nil, fmt.Errorf("store ssh CA keys: %w", err)
	}
	for _, k := range keys {
		logger.Info("stored SSH CA key fetched from the CA", "path", c.CA.SSHCAKeysFile, "fingerprint", ssh.FingerprintSHA256(k))
	}
	return keys, nil
}
