package main

import (
	"bytes"
	"fmt"
	"golang.org/x/sys/unix"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rassh/rassh/client/sshdtest"
	"sigs.k8s.io/yaml"
)

// rasshBinary is the rassh command built once for these tests.
var rasshBinary string

func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == sshdtest.ResponderArg {
		sshdtest.RunResponder()
	}
	dir, err := os.MkdirTemp("", "rassh-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rasshBinary = filepath.Join(dir, "rassh")
	if out, err := exec.Command("go", "build", "-o", rasshBinary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build rassh: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fixture is one host and a rassh configuration that trusts it.
type fixture struct {
	host   *sshdtest.Host
	issuer *sshdtest.Issuer
	config string
}

func newFixture(t *testing.T, opts sshdtest.Options, extra map[string]any) *fixture {
	t.Helper()
	f := &fixture{issuer: sshdtest.NewIssuer(t)}
	if opts.Attester == nil {
		opts.Attester = f.issuer
	}
	f.host = sshdtest.Start(t, opts)
	dir := t.TempDir()
	knownHosts := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(knownHosts, []byte(f.host.KnownHostsLine()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{
		"known_hosts": []string{knownHosts}, "issuers": []any{f.issuer.Config(f.host.Name)},
		"allow_simulated": true, "agent_socket": f.host.RASocket, "cache_dir": filepath.Join(dir, "cache"),
		"identity_files": []string{f.host.ClientKeyFile},
	}
	for k, v := range extra {
		cfg[k] = v
	}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.config = filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(f.config, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// run runs rassh with args and returns its exit status, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(rasshBinary, args...)
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// rassh runs a session: flags, then the host, then command.
func (f *fixture) rassh(t *testing.T, flags []string, command ...string) (int, string, string) {
	t.Helper()
	args := append([]string{"-F", f.config, "-p", f.host.Port()}, flags...)
	return run(t, append(append(args, "root@"+f.host.Name), command...)...)
}

func TestSessionRunsCommand(t *testing.T) {
	f := newFixture(t, sshdtest.Options{RequireRASSH: true}, nil)
	code, stdout, stderr := f.rassh(t, nil, "echo", "attested;", "exit", "7")
	if code != 7 || stdout != "attested\n" {
		t.Errorf("exit %d stdout %q stderr %q, expected 7 and \"attested\\n\"", code, stdout, stderr)
	}
}

func TestSessionStdin(t *testing.T) {
	f := newFixture(t, sshdtest.Options{}, nil)
	cmd := exec.Command(rasshBinary, "-F", f.config, "-p", f.host.Port(), "root@"+f.host.Name, "tr", "a-z", "A-Z")
	cmd.Stdin = strings.NewReader("hello\n")
	out, err := cmd.Output()
	if err != nil || string(out) != "HELLO\n" {
		t.Errorf("output %q error %v, expected \"HELLO\\n\"", out, err)
	}
}

func TestSessionTerminal(t *testing.T) {
	f := newFixture(t, sshdtest.Options{}, nil)
	master, slave := openPTY(t)
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 33, Col: 101}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(rasshBinary, "-F", f.config, "-p", f.host.Port(), "-t", "root@"+f.host.Name, "tty; stty size")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var out bytes.Buffer
	io.Copy(&out, master) // ends with EIO once rassh exits and the last slave fd closes
	if err := cmd.Wait(); err != nil {
		t.Fatalf("rassh -t: %v, output %q", err, out.String())
	}
	if !strings.Contains(out.String(), "/dev/pts/") {
		t.Errorf("output %q, expected the remote command to run on a /dev/pts/ terminal", out.String())
	}
	if !strings.Contains(out.String(), "33 101") {
		t.Errorf("output %q, expected the remote terminal size 33 101 from the local one", out.String())
	}
}

func TestSessionNoTerminalWithT(t *testing.T) {
	f := newFixture(t, sshdtest.Options{}, nil)
	code, stdout, _ := f.rassh(t, []string{"-T"}, "test", "-t", "0", "||", "echo", "no-tty")
	if code != 0 || stdout != "no-tty\n" {
		t.Errorf("-T: exit %d stdout %q, expected 0 and no terminal", code, stdout)
	}
}

// openPTY opens a pseudo-terminal pair with /dev/ptmx.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return master, slave
}

func TestSessionStockSSHDRejected(t *testing.T) {
	f := newFixture(t, sshdtest.Options{NoAgent: true}, nil)
	code, stdout, stderr := f.rassh(t, nil, "true")
	if code != exitFailure || stdout != "" || !strings.Contains(stderr, "host does not offer ra-ssh") {
		t.Errorf("exit %d stdout %q stderr %q, expected 255 and \"host does not offer ra-ssh\"", code, stdout, stderr)
	}
	code, _, stderr = f.rassh(t, []string{"-o", "allow_no_ra_ssh=true"}, "true")
	if code != 0 || !strings.Contains(stderr, "warning") || !strings.Contains(stderr, "not attested") {
		t.Errorf("allow_no_ra_ssh: exit %d stderr %q, expected 0 with a warning", code, stderr)
	}
}

func TestSessionOptionOverrides(t *testing.T) {
	f := newFixture(t, sshdtest.Options{NoStreamLocal: true}, nil)
	code, stdout, stderr := f.rassh(t, []string{"-o", "mode=fresh"}, "echo", "ok")
	if code != 0 || stdout != "ok\n" {
		t.Errorf("exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	code, _, stderr = f.rassh(t, []string{"-o", "mode=sometimes"}, "true")
	if code != exitFailure || !strings.Contains(stderr, `invalid mode "sometimes"`) {
		t.Errorf("exit %d stderr %q, expected 255 and an invalid mode", code, stderr)
	}
}

func TestVerifyReport(t *testing.T) {
	f := newFixture(t, sshdtest.Options{}, nil)
	code, stdout, stderr := run(t, "verify", "-F", f.config, "-p", f.host.Port(), "root@"+f.host.Name)
	if code != exitOK {
		t.Fatalf("exit %d stderr %q", code, stderr)
	}
	collapsed := strings.Join(strings.Fields(stdout), " ")
	for _, want := range []string{"VERIFIED 127.0.0.1", "issuer: " + f.issuer.URL + " (rassh)",
		"tee: tdx, platform tdx, quote v4, simulated true", "session-bound: true",
		"mode: epoch via direct-streamlocal", "tcb status: unknown", "certificate \"test-127.0.0.1\""} {
		if !strings.Contains(collapsed, want) {
			t.Errorf("report does not contain %q:\n%s", want, stdout)
		}
	}
}

func TestVerifyStaleRejected(t *testing.T) {
	stale := sshdtest.NewIssuer(t)
	stale.IssuedAt = func() time.Time { return time.Now().Add(-30 * time.Minute) }
	f := newFixture(t, sshdtest.Options{Attester: stale}, nil)
	f.issuer = stale
	f.writeIssuer(t)
	code, stdout, stderr := run(t, "verify", "-F", f.config, "-p", f.host.Port(), "root@"+f.host.Name)
	if code != exitRejected || !strings.HasPrefix(stdout, "REJECTED") || !strings.Contains(stderr, "attestation token too old") {
		t.Errorf("exit %d stdout %q stderr %q, expected 1 and a stale token", code, stdout, stderr)
	}
}

func TestVerifyAgentDownUndecided(t *testing.T) {
	f := newFixture(t, sshdtest.Options{NoHostKeyAgent: true}, map[string]any{"allow_unbound": true})
	f.host.StopAgent()
	code, _, stderr := run(t, "verify", "-F", f.config, "-p", f.host.Port(), "root@"+f.host.Name)
	if code != exitUndecided || !strings.Contains(stderr, "rassh-agent is not running") {
		t.Errorf("exit %d stderr %q, expected 3 and the agent down", code, stderr)
	}
}

func TestVerifyClosedPortUndecided(t *testing.T) {
	f := newFixture(t, sshdtest.Options{}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	code, stdout, stderr := run(t, "verify", "-F", f.config, "-p", port, "root@127.0.0.1")
	if code != exitUndecided {
		t.Errorf("exit %d, want %d", code, exitUndecided)
	}
	if !strings.HasPrefix(stdout, "UNDECIDED root@127.0.0.1") {
		t.Errorf("stdout %q, want UNDECIDED root@127.0.0.1", stdout)
	}
	if !strings.Contains(stderr, "connection refused") {
		t.Errorf("stderr %q, want connection refused", stderr)
	}
}

func TestVerifyBadOptionUsage(t *testing.T) {
	f := newFixture(t, sshdtest.Options{}, nil)
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"-o", "frob=1"}, `rassh: invalid option "frob=1": unknown field "frob"`},
		{[]string{"-o", "mode=later"}, `rassh: invalid mode "later", expected "epoch", "fresh" or "off"`},
		{[]string{"-F", filepath.Join(t.TempDir(), "none.yaml")}, "no such file or directory"},
	} {
		args := append([]string{"verify", "-F", f.config, "-p", f.host.Port()}, tc.args...)
		code, stdout, stderr := run(t, append(args, "root@"+f.host.Name)...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%q: exit %d stdout %q stderr %q, want %d and %s", tc.args, code, stdout, stderr, exitUsage, tc.stderr)
		}
	}
}

// writeIssuer rewrites the configuration to trust f.issuer.
func (f *fixture) writeIssuer(t *testing.T) {
	t.Helper()
	data, err := os.ReadFile(f.config)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["issuers"] = []any{f.issuer.Config(f.host.Name)}
	if data, err = yaml.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.config, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
