package rasshd

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/rassh/rassh/client/raproto"
	"github.com/rassh/rassh/internal/yamlconfig"
)

// Config configures the ra-ssh side of the agent. Its JSON names are those
// of the "ra_ssh" section of the agent's configuration file.
type Config struct {
	// HostKeyAgentSocket is the socket sshd's HostKeyAgent option names, for
	// example /run/rassh/hostkey.sock. Empty disables HostKeyAgent mode: the
	// agent then holds no private keys and its responses are not session-bound.
	HostKeyAgentSocket string `json:"hostkey_agent_socket,omitempty"`
	// Socket is the ra-ssh socket; empty means raproto.DefaultSocket.
	Socket string `json:"socket,omitempty"`
	// SocketGroup, when set, restricts the ra-ssh socket to this group
	// (mode 0660). Empty means mode 0666: any local user can connect.
	SocketGroup string `json:"socket_group,omitempty"`

	// HostKeys are private key files loaded into memory in HostKeyAgent mode,
	// or public key files whose keys the agent vouches for without it.
	HostKeys []string `json:"host_keys,omitempty"`
	// GenerateHostKeys lists key types ("ed25519", "ecdsa", "rsa") generated
	// in memory at start, in HostKeyAgent mode only. They are never written
	// to disk; their public keys go to PublicKeyDir.
	GenerateHostKeys []string `json:"generate_host_keys,omitempty"`
	// PublicKeyDir receives ssh_host_<type>_key.pub for each generated key,
	// the files sshd_config's HostKey names. Empty means /etc/ssh.
	PublicKeyDir string `json:"public_key_dir,omitempty"`

	// Modes served, "epoch" and/or "fresh"; empty means both.
	Modes []string `json:"modes,omitempty"`
	// FreshMaxQueue bounds fresh requests waiting for the quote in progress;
	// 0 means 8.
	FreshMaxQueue int `json:"fresh_max_queue,omitempty"`
	// EpochPeriod is how long one K_att is used, for example "10m".
	EpochPeriod Duration `json:"epoch_period,omitempty"`
	// TokenRefresh is how often the epoch token is refreshed, well within
	// the clients' maximum token age, for example "2m".
	TokenRefresh Duration `json:"token_refresh,omitempty"`

	// MAAInstanceURL, when set, makes Microsoft Azure Attestation the token
	// source, for example "https://sharedeus2.eus2.attest.azure.net". Empty
	// means the rassh CA's token service (POST /v1/attest on the CA).
	MAAInstanceURL string `json:"maa_instance_url,omitempty"`

	// LockMemory calls mlockall so that no page of the agent is swapped out.
	LockMemory bool `json:"lock_memory,omitempty"`
	// AllowedUID is the only peer user ID the HostKeyAgent socket serves.
	// Nil means 0 (root, which sshd runs as). Set it only in tests.
	AllowedUID *uint32 `json:"allowed_uid,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("10m").
type Duration = yamlconfig.Duration

func (c *Config) socket() string {
	if c.Socket == "" {
		return raproto.DefaultSocket
	}
	return c.Socket
}

func (c *Config) serves(mode string) bool {
	if len(c.Modes) == 0 {
		return true
	}
	for _, m := range c.Modes {
		if m == mode {
			return true
		}
	}
	return false
}

// Check reports configuration errors before anything starts.
func (c *Config) Check() error {
	for _, m := range c.Modes {
		if m != raproto.ModeEpoch && m != raproto.ModeFresh {
			return fmt.Errorf("ra_ssh: invalid mode %q, expected %q or %q", m, raproto.ModeEpoch, raproto.ModeFresh)
		}
	}
	if c.HostKeyAgentSocket == "" && len(c.GenerateHostKeys) > 0 {
		return fmt.Errorf("ra_ssh: generate_host_keys needs hostkey_agent_socket, since only the HostKeyAgent can use in-memory keys")
	}
	if c.HostKeyAgentSocket != "" && len(c.HostKeys)+len(c.GenerateHostKeys) == 0 {
		return fmt.Errorf("ra_ssh: hostkey_agent_socket is set but no host_keys or generate_host_keys")
	}
	if c.HostKeyAgentSocket != "" && c.HostKeyAgentSocket == c.socket() {
		return fmt.Errorf("ra_ssh: hostkey_agent_socket and socket must differ, got %s for both", c.socket())
	}
	if c.HostKeyAgentSocket != "" && filepath.Dir(c.HostKeyAgentSocket) == filepath.Dir(c.socket()) {
		return fmt.Errorf("ra_ssh: hostkey_agent_socket and socket must be in different directories, since the first is root-only (0700) and the second open to all users (0755); got %s for both",
			filepath.Dir(c.socket()))
	}
	if c.MAAInstanceURL != "" && !strings.HasPrefix(c.MAAInstanceURL, "https://") {
		return fmt.Errorf("ra_ssh: maa_instance_url %q must start with https://", c.MAAInstanceURL)
	}
	if c.EpochPeriod < 0 || c.TokenRefresh < 0 {
		return fmt.Errorf("ra_ssh: negative epoch_period or token_refresh")
	}
	if c.TokenRefresh > 0 && c.EpochPeriod > 0 && c.TokenRefresh > c.EpochPeriod {
		return fmt.Errorf("ra_ssh: token_refresh %v exceeds epoch_period %v", time.Duration(c.TokenRefresh), time.Duration(c.EpochPeriod))
	}
	return nil
}
