package deploy_test

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/rassh/rassh/client/raproto"
)

// agentConfig holds the fields of agent.yaml whose paths other files name.
// The real loader is in package main of cmd/rassh-agent, which its own tests
// run on these files.
type agentConfig struct {
	Host struct {
		Keys          []string `json:"keys"`
		JoinTokenFile string   `json:"join_token_file"`
		CertDir       string   `json:"cert_dir"`
	} `json:"host"`
	RASSH *struct {
		HostKeyAgentSocket string   `json:"hostkey_agent_socket"`
		Socket             string   `json:"socket"`
		HostKeys           []string `json:"host_keys"`
		GenerateHostKeys   []string `json:"generate_host_keys"`
		PublicKeyDir       string   `json:"public_key_dir"`
	} `json:"ra_ssh"`
}

const agentBinary = "/usr/local/bin/rassh-agent"

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func loadAgentConfig(t *testing.T, path string) agentConfig {
	t.Helper()
	var cfg agentConfig
	if err := yaml.Unmarshal([]byte(readFile(t, path)), &cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if cfg.RASSH == nil {
		t.Fatalf("%s has no ra_ssh section", path)
	}
	return cfg
}

// parseDirectives returns the keyword lines of an sshd_config or systemd
// unit text, keyword to values in file order. sep splits keyword and value.
func parseDirectives(text, sep string) map[string][]string {
	out := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		key, value, _ := strings.Cut(line, sep)
		out[strings.TrimSpace(key)] = append(out[strings.TrimSpace(key)], strings.TrimSpace(value))
	}
	return out
}

func wantValues(t *testing.T, file string, got map[string][]string, key string, want ...string) {
	t.Helper()
	if !reflect.DeepEqual(got[key], want) {
		t.Errorf("%s: %s = %q, expected %q", file, key, got[key], want)
	}
}

func TestHostKeyAgentFilesAgree(t *testing.T) {
	cfg := loadAgentConfig(t, "agent.yaml")
	ra := cfg.RASSH
	sshd := parseDirectives(readFile(t, "sshd_config.d/rassh.conf"), " ")
	unit := parseDirectives(readFile(t, "systemd/rassh-agent.service"), "=")
	dropIn := parseDirectives(readFile(t, "systemd/ssh.service.d/rassh-agent.conf"), "=")

	if len(cfg.Host.Keys) != 0 {
		t.Errorf("agent.yaml: host.keys = %q, expected none in HostKeyAgent mode", cfg.Host.Keys)
	}
	if ra.Socket != raproto.DefaultSocket {
		t.Errorf("agent.yaml: ra_ssh.socket = %s, expected the client default %s", ra.Socket, raproto.DefaultSocket)
	}
	if filepath.Dir(ra.Socket) == filepath.Dir(ra.HostKeyAgentSocket) {
		t.Errorf("agent.yaml: both sockets are in %s", filepath.Dir(ra.Socket))
	}
	if !reflect.DeepEqual(ra.GenerateHostKeys, []string{"ed25519"}) {
		t.Fatalf("agent.yaml: generate_host_keys = %q, expected [ed25519]", ra.GenerateHostKeys)
	}

	wantValues(t, "rassh.conf", sshd, "HostKeyAgent", ra.HostKeyAgentSocket)
	wantValues(t, "rassh.conf", sshd, "HostKey", filepath.Join(ra.PublicKeyDir, "ssh_host_ed25519_key.pub"))
	wantValues(t, "rassh.conf", sshd, "HostCertificate", filepath.Join(cfg.Host.CertDir, "ssh_host_ed25519_key-cert.pub"))
	wantValues(t, "rassh.conf", sshd, "AllowStreamLocalForwarding", "yes")
	wantValues(t, "rassh.conf", sshd, "Subsystem", "ra-ssh@rassh "+agentBinary+" respond --socket "+ra.Socket)

	wantValues(t, "rassh-agent.service", unit, "ExecStart", agentBinary+" run --config /etc/rassh/agent.yaml")
	if post := unit["ExecStartPost"]; len(post) != 1 || strings.Count(post[0], ra.HostKeyAgentSocket) != 2 {
		t.Errorf("rassh-agent.service: ExecStartPost = %q, expected a wait for %s", post, ra.HostKeyAgentSocket)
	}
	wantValues(t, "rassh-agent.service", unit, "Restart", "always")
	writable := strings.Fields(strings.Join(unit["ReadWritePaths"], " "))
	for _, path := range []string{ra.HostKeyAgentSocket, ra.Socket, ra.PublicKeyDir + "/x", cfg.Host.CertDir + "/x"} {
		if !underAny(path, writable) {
			t.Errorf("rassh-agent.service: %s is not under ReadWritePaths %q", path, writable)
		}
	}
	wantValues(t, "ssh.service.d/rassh-agent.conf", dropIn, "Requires", "rassh-agent.service")
	wantValues(t, "ssh.service.d/rassh-agent.conf", dropIn, "After", "rassh-agent.service")
}

func underAny(path string, dirs []string) bool {
	for _, dir := range dirs {
		if strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/") {
			return true
		}
	}
	return false
}

func TestFileKeysFilesAgree(t *testing.T) {
	cfg := loadAgentConfig(t, "file-keys/agent.yaml")
	ra := cfg.RASSH
	sshd := parseDirectives(readFile(t, "file-keys/sshd_config.d/rassh.conf"), " ")
	dropIn := parseDirectives(readFile(t, "file-keys/rassh-agent.service.d/file-keys.conf"), "=")

	if !reflect.DeepEqual(cfg.Host.Keys, []string{"/etc/ssh/ssh_host_ed25519_key"}) {
		t.Fatalf("file-keys/agent.yaml: host.keys = %q", cfg.Host.Keys)
	}
	key := cfg.Host.Keys[0]
	if ra.HostKeyAgentSocket != "" || len(ra.GenerateHostKeys) != 0 {
		t.Errorf("file-keys/agent.yaml: ra_ssh = %+v, expected no HostKeyAgent", *ra)
	}
	if ra.Socket != raproto.DefaultSocket {
		t.Errorf("file-keys/agent.yaml: ra_ssh.socket = %s, expected %s", ra.Socket, raproto.DefaultSocket)
	}
	if !reflect.DeepEqual(ra.HostKeys, []string{key + ".pub"}) {
		t.Errorf("file-keys/agent.yaml: ra_ssh.host_keys = %q, expected [%s.pub]", ra.HostKeys, key)
	}

	wantValues(t, "file-keys rassh.conf", sshd, "HostKey", key)
	wantValues(t, "file-keys rassh.conf", sshd, "HostCertificate", key+"-cert.pub")
	wantValues(t, "file-keys rassh.conf", sshd, "HostKeyAgent")
	wantValues(t, "file-keys rassh.conf", sshd, "AllowStreamLocalForwarding", "yes")
	wantValues(t, "file-keys rassh.conf", sshd, "Subsystem", "ra-ssh@rassh "+agentBinary+" respond --socket "+ra.Socket)
	wantValues(t, "file-keys.conf", dropIn, "ExecStartPost", "")
}

// cloudConfig holds the parts of cloud-init.yaml this test checks.
type cloudConfig struct {
	WriteFiles []writeFile `json:"write_files"`
	RunCmd     [][]string  `json:"runcmd"`
}

// writeFile is one entry of cloud-init's write_files.
type writeFile struct {
	Path        string `json:"path"`
	Owner       string `json:"owner"`
	Permissions string `json:"permissions"`
	Defer       bool   `json:"defer"`
	Content     string `json:"content"`
}

func TestCloudInitEmbedsDeployFiles(t *testing.T) {
	text := readFile(t, "cloud-init.yaml")
	if !strings.HasPrefix(text, "#cloud-config\n") {
		t.Errorf("cloud-init.yaml does not start with #cloud-config")
	}
	var cc cloudConfig
	if err := yaml.Unmarshal([]byte(text), &cc); err != nil {
		t.Fatalf("cloud-init.yaml: %v", err)
	}
	files := map[string]int{}
	for i, f := range cc.WriteFiles {
		files[f.Path] = i
		if f.Owner != "root:root" || !f.Defer {
			t.Errorf("cloud-init.yaml: %s: owner %q, defer %v, expected root:root and true", f.Path, f.Owner, f.Defer)
		}
	}

	copies := map[string]string{
		"/etc/systemd/system/rassh-agent.service":            "systemd/rassh-agent.service",
		"/etc/systemd/system/ssh.service.d/rassh-agent.conf": "systemd/ssh.service.d/rassh-agent.conf",
		"/etc/ssh/sshd_config.d/rassh.conf":                  "sshd_config.d/rassh.conf",
	}
	for target, source := range copies {
		i, ok := files[target]
		if !ok {
			t.Errorf("cloud-init.yaml writes no %s", target)
			continue
		}
		if cc.WriteFiles[i].Content != readFile(t, source) {
			t.Errorf("cloud-init.yaml: %s differs from %s", target, source)
		}
		if cc.WriteFiles[i].Permissions != "0644" {
			t.Errorf("cloud-init.yaml: %s permissions %s, expected 0644", target, cc.WriteFiles[i].Permissions)
		}
	}

	agent := writtenFile(t, cc.WriteFiles, files, "/etc/rassh/agent.yaml")
	if !sameYAML(t, agent.Content, readFile(t, "agent.yaml")) {
		t.Errorf("cloud-init.yaml: /etc/rassh/agent.yaml differs from agent.yaml other than in comments")
	}
	var cfg agentConfig
	if err := yaml.Unmarshal([]byte(agent.Content), &cfg); err != nil {
		t.Fatal(err)
	}
	token := writtenFile(t, cc.WriteFiles, files, cfg.Host.JoinTokenFile)
	for _, f := range []struct{ path, permissions string }{{agent.Path, agent.Permissions}, {token.Path, token.Permissions}} {
		if f.permissions != "0600" {
			t.Errorf("cloud-init.yaml: %s permissions %s, expected 0600", f.path, f.permissions)
		}
	}

	if len(cc.RunCmd) != 1 || len(cc.RunCmd[0]) != 3 || cc.RunCmd[0][1] != "-euc" {
		t.Fatalf("cloud-init.yaml: runcmd = %q, expected one sh -euc script", cc.RunCmd)
	}
	script := cc.RunCmd[0][2]
	order := []string{"sha256sum -c", "mv /usr/local/bin/rassh-agent.new " + agentBinary, "systemctl daemon-reload",
		"systemctl enable --now rassh-agent.service", "systemctl restart ssh.service"}
	last := -1
	for _, step := range order {
		at := strings.Index(script, step)
		if at <= last {
			t.Errorf("cloud-init.yaml: runcmd has %q at %d, expected it after the step before (at %d)", step, at, last)
		}
		last = at
	}
}

func writtenFile(t *testing.T, all []writeFile, index map[string]int, path string) writeFile {
	t.Helper()
	i, ok := index[path]
	if !ok {
		t.Fatalf("cloud-init.yaml writes no %s", path)
	}
	return all[i]
}

func sameYAML(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := yaml.Unmarshal([]byte(a), &x); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(b), &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

// TestSSHDAcceptsSnippets runs the real sshd -t on each snippet, with its
// paths moved into a temporary folder. The folder holds a host key and a
// certificate signed by a test CA. In HostKeyAgent mode a listening socket
// stands in for the agent.
func TestSSHDAcceptsSnippets(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("sshd -t needs root: run the tests as root with Debian's openssh-server installed")
	}
	for _, tt := range []struct{ name, snippet string }{
		{"hostkey agent", "sshd_config.d/rassh.conf"},
		{"file keys", "file-keys/sshd_config.d/rassh.conf"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			text := strings.NewReplacer("/etc/ssh/", dir+"/etc/ssh/", "/run/rassh/", dir+"/run/rassh/").
				Replace(readFile(t, tt.snippet))
			mustMkdir(t, dir+"/etc/ssh", dir+"/run/rassh")

			key := dir + "/etc/ssh/ssh_host_ed25519_key"
			run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key)
			run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir+"/ca")
			run(t, "ssh-keygen", "-q", "-s", dir+"/ca", "-h", "-I", "deploy-test", "-n", "web1.fleet.example.com", key+".pub")
			if err := os.Chmod(key+".pub", 0o600); err != nil {
				t.Fatal(err)
			}

			sshd := parseDirectives(text, " ")
			if agent := sshd["HostKeyAgent"]; len(agent) == 1 {
				os.Remove(key) // the private key lives only in the agent
				l, err := net.Listen("unix", agent[0])
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				go acceptAndClose(l)
			}

			config := dir + "/sshd_config"
			if err := os.WriteFile(config, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd := exec.Command("/usr/sbin/sshd", "-t", "-f", config)
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("sshd -t: %v\n%s", err, stderr.String())
			}
			for _, bad := range []string{"Could not load host certificate", "no hostkeys", "Could not connect to agent"} {
				if strings.Contains(stderr.String(), bad) {
					t.Errorf("sshd -t printed %q:\n%s", bad, stderr.String())
				}
			}
		})
	}
}

func acceptAndClose(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

func mustMkdir(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
}

// TestSystemdAnalyzeVerify checks the units with systemd-analyze verify,
// with the agent binary replaced by a stub, so the test needs no installed
// rassh. It needs systemd-analyze from Debian's systemd package, which
// .ci/run installs; systemd need not be running.
func TestSystemdAnalyzeVerify(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Fatal("systemd-analyze is not installed: apt-get install systemd")
	}
	for _, tt := range []struct {
		name   string
		files  map[string]string // unit path under the unit directory: source
		verify []string
	}{
		{"hostkey agent", map[string]string{
			"rassh-agent.service":            "systemd/rassh-agent.service",
			"ssh.service.d/rassh-agent.conf": "systemd/ssh.service.d/rassh-agent.conf",
		}, []string{"rassh-agent.service", "ssh.service"}},
		{"file keys", map[string]string{
			"rassh-agent.service":                  "systemd/rassh-agent.service",
			"rassh-agent.service.d/file-keys.conf": "file-keys/rassh-agent.service.d/file-keys.conf",
		}, []string{"rassh-agent.service"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			stub := dir + "/rassh-agent"
			if err := os.WriteFile(stub, []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			units := dir + "/units"
			for target, source := range tt.files {
				text := strings.ReplaceAll(readFile(t, source), agentBinary, stub)
				mustMkdir(t, filepath.Dir(filepath.Join(units, target)))
				if err := os.WriteFile(filepath.Join(units, target), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := os.Stat("/lib/systemd/system/ssh.service"); err != nil && contains(tt.verify, "ssh.service") {
				t.Fatalf("ssh.service of Debian's openssh-server is missing: %v", err)
			}
			// A trailing colon appends the built-in unit directories.
			cmd := exec.Command("systemd-analyze", append([]string{"verify"}, tt.verify...)...)
			cmd.Dir = units
			cmd.Env = append(os.Environ(), "SYSTEMD_UNIT_PATH="+units+":")
			out, err := cmd.CombinedOutput()
			if err != nil || len(out) != 0 {
				t.Errorf("systemd-analyze verify %q: %v\n%s", tt.verify, err, out)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, item := range list {
		if item == s {
			return true
		}
	}
	return false
}
