package rasshd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rassh/rassh/client/raproto"
)

func TestRelayRoundTrip(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "ra-ssh.sock")
	l, err := ListenPublic(sock, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s := &Server{HostKeys: [][]byte{[]byte("hk")}, Fresh: &Fresh{Attester: &recordingAttester{}}, Logger: testLogger(t)}
	go s.Serve(l)

	var in, out bytes.Buffer
	req := testRequest(raproto.ModeFresh, []byte("hk"))
	raproto.WriteFrame(&in, req)
	if err := Relay(&in, &out, sock); err != nil {
		t.Fatal(err)
	}
	var resp raproto.Response
	if err := raproto.ReadFrame(&out, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Status != raproto.StatusOK || resp.SessionBound || out.Len() != 0 {
		t.Fatalf("status %q bound %v, %d bytes left", resp.Status, resp.SessionBound, out.Len())
	}
}

func TestRelayRejectsForeignBytes(t *testing.T) {
	var out bytes.Buffer
	err := Relay(strings.NewReader("GET / HTTP/1.1\r\n"), &out, "/nonexistent")
	if err == nil || !strings.Contains(err.Error(), "foreign bytes") {
		t.Fatalf("err = %v, want foreign bytes", err)
	}
	var resp raproto.Response
	if err := raproto.ReadFrame(&out, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Code != raproto.CodeBadRequest {
		t.Fatalf("code %q, want %q", resp.Code, raproto.CodeBadRequest)
	}
}

func TestRelayAgentDown(t *testing.T) {
	var in, out bytes.Buffer
	raproto.WriteFrame(&in, testRequest(raproto.ModeEpoch, []byte("hk")))
	err := Relay(&in, &out, filepath.Join(t.TempDir(), "missing.sock"))
	if err == nil || !strings.Contains(err.Error(), "respond: connect to agent") {
		t.Fatalf("err = %v", err)
	}
	var resp raproto.Response
	raproto.ReadFrame(&out, &resp)
	if resp.Code != raproto.CodeAgentDown || resp.Error != "responder: rassh-agent is not running on this host" {
		t.Fatalf("answer %+v", resp)
	}
}

func TestStartGeneratesKeys(t *testing.T) {
	dir := rootTempDir(t)
	uid := uint32(os.Getuid())
	cfg := Config{
		HostKeyAgentSocket: filepath.Join(dir, "private", "hostkey.sock"),
		Socket:             filepath.Join(dir, "public", "ra-ssh.sock"),
		GenerateHostKeys:   []string{"ed25519", "ecdsa"},
		PublicKeyDir:       dir,
		AllowedUID:         &uid,
	}
	a, err := Start(cfg, &recordingAttester{}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	if len(a.HostKeys) != 2 || a.Sessions == nil || a.Server.Fresh == nil || a.Server.Epoch == nil {
		t.Fatalf("agent %+v", a)
	}
	for _, typ := range []string{"ed25519", "ecdsa"} {
		info, err := os.Stat(filepath.Join(dir, "ssh_host_"+typ+"_key.pub"))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("%s public key file: %v, mode %v", typ, err, info)
		}
	}
	if dumpable, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0); err != nil || dumpable != 0 {
		t.Fatalf("process dumpable = %d (%v) after Start, want 0", dumpable, err)
	}
	waitFor(t, "the first epoch", func() bool {
		_, _, err := a.Server.Epoch.answer([64]byte{})
		return err == nil
	})
	resp := a.Server.Answer(context.Background(), testRequest(raproto.ModeEpoch, a.HostKeys[0].Marshal()), 0)
	if resp.Code != raproto.CodeUnknownSession {
		t.Fatalf("code %q, want %q before any SSH connection", resp.Code, raproto.CodeUnknownSession)
	}
}

func TestListenPublicGroup(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "ra", "ra-ssh.sock")
	l, err := ListenPublic(sock, 65534)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	info, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o660 || info.Sys().(*syscall.Stat_t).Gid != 65534 {
		t.Fatalf("socket mode %o gid %d, want 660 and 65534", info.Mode().Perm(), info.Sys().(*syscall.Stat_t).Gid)
	}
}

func TestListenRefusesNonSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ra-ssh.sock")
	os.WriteFile(path, []byte("keep me"), 0o600)
	_, err := ListenPublic(path, -1)
	if err == nil || err.Error() != "listen on "+path+": "+path+" exists and is not a socket" {
		t.Fatalf("err = %v", err)
	}
}

func TestConfigCheck(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"mode", Config{Modes: []string{"lazy"}}, `ra_ssh: invalid mode "lazy", expected "epoch" or "fresh"`},
		{"generate without agent", Config{GenerateHostKeys: []string{"ed25519"}},
			"ra_ssh: generate_host_keys needs hostkey_agent_socket, since only the HostKeyAgent can use in-memory keys"},
		{"agent without keys", Config{HostKeyAgentSocket: "/run/rassh/hostkey.sock"},
			"ra_ssh: hostkey_agent_socket is set but no host_keys or generate_host_keys"},
		{"same socket", Config{HostKeyAgentSocket: raproto.DefaultSocket, GenerateHostKeys: []string{"ed25519"}},
			"ra_ssh: hostkey_agent_socket and socket must differ, got /run/ra-ssh/ra-ssh.sock for both"},
		{"same directory", Config{HostKeyAgentSocket: "/run/rassh/hostkey.sock", Socket: "/run/rassh/ra-ssh.sock", GenerateHostKeys: []string{"ed25519"}},
			"ra_ssh: hostkey_agent_socket and socket must be in different directories, since the first is root-only (0700) and the second open to all users (0755); got /run/rassh for both"},
		{"refresh above period", Config{EpochPeriod: Duration(time.Minute), TokenRefresh: Duration(2 * time.Minute)},
			"ra_ssh: token_refresh 2m0s exceeds epoch_period 1m0s"},
	}
	for _, tc := range cases {
		if err := tc.cfg.Check(); err == nil || err.Error() != tc.want {
			t.Errorf("%s: err = %v, want %s", tc.name, err, tc.want)
		}
	}
}
