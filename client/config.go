package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rassh/rassh/client/raproto"
	"github.com/rassh/rassh/internal/boundedfile"
	"github.com/rassh/rassh/internal/yamlconfig"
)

// Attestation modes of Config.Mode.
const (
	ModeEpoch = raproto.ModeEpoch
	ModeFresh = raproto.ModeFresh
	ModeOff   = "off"
)

// MaxConfigSize bounds the configuration file.
const MaxConfigSize = 1 << 20

// Config is the client's configuration file (YAML; docs/client.md describes
// it). Every field can also be set with `-o name=value`, except issuers.
type Config struct {
	// KnownHosts are the known_hosts files with the @cert-authority lines.
	// Empty means ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts.
	KnownHosts StringList `json:"known_hosts,omitempty"`
	// KRL is an OpenSSH KRL of revoked host certificates and keys; empty
	// means none.
	KRL string `json:"krl,omitempty"`
	// Issuers are the trusted attestation token issuers.
	Issuers []IssuerConfig `json:"issuers,omitempty"`
	// Policy is a claims policy file (verifier/policy format). Empty means
	// the built-in client policy: TDX, debug off, not simulated unless
	// AllowSimulated, TCB status UpToDate or SWHardeningNeeded when known.
	Policy string `json:"policy,omitempty"`
	// Mode is "epoch" (default), "fresh" or "off".
	Mode string `json:"mode,omitempty"`
	// MaxTokenAge and MaxEpoch: zero means the defaults, 10m and 15m.
	MaxTokenAge Duration `json:"max_token_age,omitempty"`
	MaxEpoch    Duration `json:"max_epoch,omitempty"`
	// AllowNoRASSH connects to hosts that offer no ra-ssh, without the check,
	// unless their certificate requires ra-ssh.
	AllowNoRASSH bool `json:"allow_no_ra_ssh,omitempty"`
	// AllowUnbound accepts responses that are not session-bound.
	AllowUnbound bool `json:"allow_unbound,omitempty"`
	// AllowSimulated accepts simulated TDs with the built-in policy.
	AllowSimulated bool `json:"allow_simulated,omitempty"`
	// AgentSocket is the agent's ra-ssh socket on the hosts; empty means
	// /run/ra-ssh/ra-ssh.sock.
	AgentSocket string `json:"agent_socket,omitempty"`
	// HostKeyAlias is the host name checked in place of the one dialed, as
	// ssh's HostKeyAlias: for known_hosts, certificate principals and the
	// issuers' host patterns. Empty means the dialed name.
	HostKeyAlias string `json:"host_key_alias,omitempty"`
	// CacheDir holds verified key sets and tokens (0700, files 0600). Empty
	// means $XDG_CACHE_HOME/rassh or ~/.cache/rassh; "none" disables the
	// cache.
	CacheDir string `json:"cache_dir,omitempty"`
	// TokenCache keeps verified epoch-mode tokens in CacheDir, so that the
	// next run skips their signature check. Nil means true.
	TokenCache *bool `json:"token_cache,omitempty"`
	// IdentityFiles are private keys to offer besides the ssh agent's. Empty
	// means ~/.ssh/id_ed25519, id_ecdsa and id_rsa where they exist.
	IdentityFiles StringList `json:"identity_files,omitempty"`
	// ConnectTimeout bounds connecting, the handshake and the check; zero
	// means 30s.
	ConnectTimeout Duration `json:"connect_timeout,omitempty"`
}

// DefaultConfigPath returns ~/.config/rassh/config.yaml (or under
// $XDG_CONFIG_HOME).
func DefaultConfigPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "rassh", "config.yaml")
}

// LoadConfig reads the configuration file at path. A missing file at the
// default path is an empty configuration; a missing file named explicitly
// is an error.
func LoadConfig(path string, explicit bool) (*Config, error) {
	data, err := boundedfile.Read(path, MaxConfigSize)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	var c Config
	if err := yamlconfig.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	c.fixBooleanMode()
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	return &c, nil
}

// Set applies one `-o name=value` override, with name a YAML field name.
func (c *Config) Set(option string) error {
	name, value, ok := strings.Cut(option, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return fmt.Errorf("invalid option %q, expected name=value", option)
	}
	if name == "issuers" {
		return errors.New("option issuers can be set only in the configuration file")
	}
	// The value keeps its YAML meaning: "true" is a boolean, "5m" a duration
	// string, "a,b" a list for list fields.
	if err := yamlconfig.Unmarshal(yamlScalar(name, value), c); err != nil {
		return fmt.Errorf("invalid option %q: %v", option, err)
	}
	c.fixBooleanMode()
	return c.Check()
}

// fixBooleanMode turns the mode "false" into ModeOff. YAML 1.1, which
// sigs.k8s.io/yaml follows, reads an unquoted off (and no, false) as a
// boolean, and sigs.k8s.io/yaml writes that boolean into a string field as
// "false".
func (c *Config) fixBooleanMode() {
	if c.Mode == "false" {
		c.Mode = ModeOff
	}
}

func yamlScalar(name, value string) []byte {
	return []byte(name + ": " + strings.TrimSpace(value) + "\n")
}

// Check reports invalid values.
func (c *Config) Check() error {
	switch c.Mode {
	case "", ModeEpoch, ModeFresh, ModeOff:
	default:
		return fmt.Errorf("invalid mode %q, expected %q, %q or %q", c.Mode, ModeEpoch, ModeFresh, ModeOff)
	}
	if c.MaxTokenAge < 0 || c.MaxEpoch < 0 || c.ConnectTimeout < 0 {
		return errors.New("durations must not be negative")
	}
	if _, err := keySetPins(c.Issuers); err != nil {
		return err
	}
	return nil
}

// AttestMode returns Mode with the default applied.
func (c *Config) AttestMode() string {
	if c.Mode == "" {
		return ModeEpoch
	}
	return c.Mode
}

// TokenCacheEnabled returns TokenCache with the default applied.
func (c *Config) TokenCacheEnabled() bool {
	return c.TokenCache == nil || *c.TokenCache
}

// Duration is a time.Duration written as a Go duration string ("10m").
type Duration = yamlconfig.Duration

// StringList is a list of strings that may also be written as one string
// with comma-separated items, as `-o known_hosts=a,b` does.
type StringList []string

// UnmarshalJSON accepts a list or a comma-separated string.
func (l *StringList) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*l = nil
		for _, item := range strings.Split(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				*l = append(*l, item)
			}
		}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("invalid list %s, expected a string or a list of strings", b)
	}
	*l = list
	return nil
}

// ExpandHome replaces a leading "~/" with the user's home directory.
func ExpandHome(path string) string {
	if !strings.HasPrefix(path, "~/") {
		return path
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return path
	}
	return filepath.Join(home, path[2:])
}
