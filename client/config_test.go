package client

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rassh/rassh/verifier/token"
)

const exampleConfig = `
known_hosts: [/etc/rassh/known_hosts, ~/.ssh/known_hosts]
krl: /etc/rassh/revoked.krl
mode: fresh
max_token_age: 5m
max_epoch: 20m
allow_unbound: true
agent_socket: /run/ra-ssh/ra-ssh.sock
issuers:
  - issuer: https://ca.fleet.test
    jwks_url: https://ca.fleet.test/v1/jwks
    kind: rassh
    algorithms: [ES256]
    host_patterns: ["*.fleet.test"]
    tls_fingerprint: sha256:abababababababababababababababababababababababababababababababab
`

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfig(t *testing.T) {
	c, err := LoadConfig(writeConfig(t, exampleConfig), true)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		KnownHosts: StringList{"/etc/rassh/known_hosts", "~/.ssh/known_hosts"}, KRL: "/etc/rassh/revoked.krl",
		Mode: ModeFresh, MaxTokenAge: Duration(5 * time.Minute), MaxEpoch: Duration(20 * time.Minute),
		AllowUnbound: true, AgentSocket: "/run/ra-ssh/ra-ssh.sock",
		Issuers: []IssuerConfig{{IssuerConfig: token.IssuerConfig{Issuer: "https://ca.fleet.test", JWKSURL: "https://ca.fleet.test/v1/jwks",
			Kind: "rassh", Algorithms: []string{"ES256"}, HostPatterns: []string{"*.fleet.test"}},
			TLSFingerprint: "sha256:" + strings.Repeat("ab", 32)}},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("config\n%+v\nexpected\n%+v", c, want)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	cases := []struct{ name, content, want string }{
		{"unknown field", "mode: epoch\nallow_all: true\n", `unknown field "allow_all"`},
		{"invalid mode", "mode: sometimes\n", `invalid mode "sometimes", expected "epoch", "fresh" or "off"`},
		{"invalid duration", "max_epoch: 15\n", `invalid duration 15, expected a string such as "10m"`},
		{"wrong type", "allow_no_ra_ssh: [yes]\n", `invalid value for field "allow_no_ra_ssh": expected a boolean, found a list`},
		{"invalid list", "known_hosts: {a: b}\n", `invalid list {"a":"b"}, expected a string or a list of strings`},
	}
	for _, c := range cases {
		path := writeConfig(t, c.content)
		_, err := LoadConfig(path, true)
		if want := "load config " + path + ": " + c.want; err == nil || err.Error() != want {
			t.Errorf("%s: error %v, expected %q", c.name, err, want)
		}
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml"), true); err == nil {
		t.Error("missing explicit file: no error")
	}
	c, err := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml"), false)
	if err != nil || c.AttestMode() != ModeEpoch {
		t.Errorf("missing default file: config %+v, error %v", c, err)
	}
}

func TestConfigSet(t *testing.T) {
	c := &Config{}
	for _, o := range []string{"mode=fresh", "allow_no_ra_ssh=true", "max_token_age=90s", "known_hosts=/a,/b", "krl = /k"} {
		if err := c.Set(o); err != nil {
			t.Fatalf("-o %s: %v", o, err)
		}
	}
	if c.Mode != ModeFresh || !c.AllowNoRASSH || c.MaxTokenAge != Duration(90*time.Second) || c.KRL != "/k" ||
		!reflect.DeepEqual(c.KnownHosts, StringList{"/a", "/b"}) {
		t.Errorf("config after -o: %+v", c)
	}
	for option, text := range map[string]string{
		"mode=sometimes": "invalid mode", "issuers=x": "only in the configuration file",
		"novalue": "expected name=value", "colour=blue": "unknown field",
	} {
		err := c.Set(option)
		if err == nil || !strings.Contains(err.Error(), text) {
			t.Errorf("-o %s: error %v, expected %q", option, err, text)
		}
	}
}

// YAML 1.1, which sigs.k8s.io/yaml follows, reads an unquoted off as the
// boolean false.
func TestConfigModeOffUnquoted(t *testing.T) {
	c, err := LoadConfig(writeConfig(t, "mode: off\n"), true)
	if err != nil {
		t.Fatalf("load mode: off: %v", err)
	}
	if got := c.AttestMode(); got != ModeOff {
		t.Errorf("file mode: off gives mode %q, expected %q", got, ModeOff)
	}

	c = &Config{}
	if err := c.Set("mode=off"); err != nil {
		t.Fatalf("-o mode=off: %v", err)
	}
	if got := c.AttestMode(); got != ModeOff {
		t.Errorf("-o mode=off gives mode %q, expected %q", got, ModeOff)
	}
}
