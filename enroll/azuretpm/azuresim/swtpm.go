package azuresim

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/rassh/rassh/enroll/azuretpm"
)

// StartSWTPM starts Debian's swtpm as a TPM 2.0 on Unix sockets in a
// temporary directory, already started up, and returns a connection to its
// command socket. The process is killed when the test ends.
func StartSWTPM(t testing.TB) *azuretpm.SocketTPM {
	t.Helper()
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	server := filepath.Join(dir, "tpm.sock")
	cmd := exec.Command("swtpm", "socket", "--tpm2",
		"--server", "type=unixio,path="+server,
		"--ctrl", "type=unixio,path="+filepath.Join(dir, "ctrl.sock"),
		"--tpmstate", "dir="+state,
		"--flags", "startup-clear")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start swtpm (Debian package swtpm): %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})

	conn, err := dialWhenReady(server, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tpm := &azuretpm.SocketTPM{Conn: conn}
	t.Cleanup(func() { tpm.Close() })
	return tpm
}

func dialWhenReady(path string, timeout time.Duration) (net.Conn, error) {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.Dial("unix", path)
		if err == nil {
			return conn, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("swtpm socket %s not ready after %s: %w", path, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
