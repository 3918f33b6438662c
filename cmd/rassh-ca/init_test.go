package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runInitBinary runs "rassh-ca init" with args and returns its exit code,
// standard output and standard error.
func runInitBinary(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(rasshCA, append([]string{"init"}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatalf("run rassh-ca init: %v", err)
	return 0, "", ""
}

func TestInitRejectsBadFlagsWithoutDirectory(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown key type", []string{"--key-type", "dsa"},
			`rassh-ca init: --key-type "dsa" unknown (expected one of ed25519, ecdsa-p256, ecdsa-p384, rsa-3072, rsa-4096)`},
		{"unknown collateral", []string{"--collateral", "cloud"},
			`rassh-ca init: --collateral "cloud" unknown (expected pcs, dir or none)`},
		{"collateral dir without directory", []string{"--collateral", "dir"},
			"rassh-ca init: --collateral dir needs --collateral-dir DIR, the directory of Intel PCS response files"},
		{"collateral directory without dir", []string{"--collateral-dir", "/tmp"},
			`rassh-ca init: --collateral-dir needs --collateral dir, not "pcs"`},
		{"collateral directory missing", []string{"--collateral", "dir", "--collateral-dir", "/nonexistent/pcs"},
			"rassh-ca init: --collateral-dir: stat /nonexistent/pcs: no such file or directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ca")
			code, _, stderr := runInitBinary(t, append([]string{"--dir", dir, "--host-patterns", "*.example.com"}, c.args...)...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d (usage)", code, exitUsage)
			}
			if strings.TrimSpace(stderr) != c.want {
				t.Errorf("stderr %q, want %q", stderr, c.want)
			}
			if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("init left %s behind: %v", dir, err)
			}
		})
	}
}

func TestInitCollateralDirLoads(t *testing.T) {
	collateral := t.TempDir()
	dir := filepath.Join(t.TempDir(), "ca")
	code, stdout, stderr := runInitBinary(t, "--dir", dir, "--host-patterns", "*.example.com", "--collateral", "dir", "--collateral-dir", collateral)
	if code != exitOK {
		t.Fatalf("init: exit %d\n%s%s", code, stdout, stderr)
	}
	c, err := loadConfig(filepath.Join(dir, configFile))
	if err != nil {
		t.Fatalf("load the written config: %v", err)
	}
	if c.Verifier.Local.Collateral != "dir" || c.Verifier.Local.CollateralDir != collateral {
		t.Errorf("verifier.local %+v, want collateral dir in %s", c.Verifier.Local, collateral)
	}
}

func TestInitWarnsCollateralNone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	code, _, stderr := runInitBinary(t, "--dir", dir, "--host-patterns", "*.example.com", "--collateral", "none")
	if code != exitOK {
		t.Fatalf("init: exit %d\n%s", code, stderr)
	}
	want := "rassh-ca init: warning: --collateral none with a policy that requires collateral (the default policy does): every enrollment will be rejected"
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr %q lacks %q", stderr, want)
	}

	policyPath := filepath.Join(t.TempDir(), "policy.yaml")
	os.WriteFile(policyPath, []byte("require_collateral: false\n"), 0o644)
	dir = filepath.Join(t.TempDir(), "ca")
	code, _, stderr = runInitBinary(t, "--dir", dir, "--host-patterns", "*.example.com", "--collateral", "none", "--policy", policyPath)
	if code != exitOK || strings.Contains(stderr, "warning") {
		t.Errorf("init with a policy without collateral: exit %d, stderr %q", code, stderr)
	}
}

func TestInitRemovesDirectoryOnFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	o := initOptions{Dir: dir, KeyType: "dsa", HostPatterns: []string{"*.example.com"}, Listen: "127.0.0.1:0", Collateral: "none"}
	if _, err := initCA(o); err == nil {
		t.Fatal("initCA with an unknown key type succeeded")
	}
	if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("initCA left %s behind: %v", dir, err)
	}
}
