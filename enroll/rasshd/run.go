package rasshd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/client/raproto"
	"github.com/rassh/rassh/internal/boundedfile"
)

// Agent is the running ra-ssh side of the host agent: the HostKeyAgent
// socket (when configured), the ra-ssh socket and the epoch schedule.
type Agent struct {
	// Keys holds the host private keys in HostKeyAgent mode, else nil.
	Keys *KeyRing
	// Sessions are the live sessions, or nil without HostKeyAgent mode.
	Sessions *Sessions
	// HostKeys are the public host keys the agent serves.
	HostKeys []ssh.PublicKey
	// Server is the ra-ssh server.
	Server *Server

	listeners []*net.UnixListener
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// Start loads or generates the host keys, opens the sockets and starts
// serving. att makes the tokens of both modes. The sockets stay up when the
// token source is unreachable, because sshd cannot complete any key exchange
// without its HostKeyAgent: epoch mode then retries in the background and
// responds with "attestation_failed" meanwhile.
func Start(cfg Config, att Attester, logger *slog.Logger) (*Agent, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	if err := DisableDumps(); err != nil {
		logger.Warn("ra-ssh: process stays dumpable", "err", err)
	}
	if cfg.LockMemory {
		LockAllMemory(logger)
	}

	a := &Agent{}
	if err := a.loadKeys(&cfg, logger); err != nil {
		return nil, err
	}
	a.Server = a.newServer(&cfg, att, logger)
	if err := a.listen(&cfg, logger); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *Agent) loadKeys(cfg *Config, logger *slog.Logger) error {
	if cfg.HostKeyAgentSocket == "" {
		keys, err := loadPublicKeys(cfg.HostKeys)
		a.HostKeys = keys
		return err
	}

	a.Keys = &KeyRing{}
	a.Sessions = NewSessions()
	for _, path := range cfg.HostKeys {
		if _, err := a.Keys.LoadKeyFile(path); err != nil {
			return err
		}
	}
	for _, keyType := range cfg.GenerateHostKeys {
		pub, err := a.Keys.GenerateKey(keyType)
		if err != nil {
			return err
		}
		if err := writePublicKey(cfg.PublicKeyDir, keyType, pub); err != nil {
			return err
		}
	}
	a.Keys.lockKeys(logger)
	a.HostKeys = a.Keys.PublicKeys()
	return nil
}

func (a *Agent) newServer(cfg *Config, att Attester, logger *slog.Logger) *Server {
	blobs := make([][]byte, len(a.HostKeys))
	for i, k := range a.HostKeys {
		blobs[i] = k.Marshal()
	}
	s := &Server{Sessions: a.Sessions, HostKeys: blobs, Logger: logger}
	if cfg.serves(raproto.ModeFresh) {
		s.Fresh = &Fresh{Attester: att, MaxQueue: cfg.FreshMaxQueue}
	}
	if cfg.serves(raproto.ModeEpoch) {
		s.Epoch = &Epoch{Attester: att, HostKeys: blobs, Period: time.Duration(cfg.EpochPeriod),
			TokenRefresh: time.Duration(cfg.TokenRefresh), Logger: logger}
	}
	return s
}

func (a *Agent) listen(cfg *Config, logger *slog.Logger) error {
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel

	if cfg.HostKeyAgentSocket != "" {
		l, err := ListenPrivate(cfg.HostKeyAgentSocket)
		if err != nil {
			return err
		}
		a.listeners = append(a.listeners, l)
		hka := &HostKeyAgent{Keys: a.Keys, Sessions: a.Sessions, Logger: logger}
		if cfg.AllowedUID != nil {
			hka.AllowedUID = *cfg.AllowedUID
		}
		a.goServe(func() error { return hka.Serve(l) })
		logger.Info("ra-ssh: HostKeyAgent listening", "socket", cfg.HostKeyAgentSocket, "keys", len(a.HostKeys))
	}

	gid, err := lookupGroup(cfg.SocketGroup)
	if err != nil {
		return err
	}
	l, err := ListenPublic(cfg.socket(), gid)
	if err != nil {
		return err
	}
	a.listeners = append(a.listeners, l)
	a.goServe(func() error { return a.Server.Serve(l) })
	logger.Info("ra-ssh: listening", "socket", cfg.socket(), "session_bound", a.Sessions != nil)

	if a.Server.Epoch != nil {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.Server.Epoch.Run(ctx)
		}()
	}
	return nil
}

func (a *Agent) goServe(serve func() error) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		serve()
	}()
}

// Close stops accepting connections and the epoch schedule and waits for
// them to end. Agent connections already open are served until sshd closes
// them.
func (a *Agent) Close() error {
	if a.cancel != nil {
		a.cancel()
	}
	var errs []error
	for _, l := range a.listeners {
		errs = append(errs, l.Close())
	}
	a.wg.Wait()
	return errors.Join(errs...)
}

func lookupGroup(name string) (int, error) {
	if name == "" {
		return -1, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return -1, fmt.Errorf("ra_ssh: socket_group: %w", err)
	}
	return strconv.Atoi(g.Gid)
}

// maxPublicKeyFile bounds a public key file.
const maxPublicKeyFile = 16 << 10

func loadPublicKeys(paths []string) ([]ssh.PublicKey, error) {
	var keys []ssh.PublicKey
	for _, p := range paths {
		data, err := boundedfile.Read(p, maxPublicKeyFile)
		if err != nil {
			return nil, fmt.Errorf("load host public key: %w", err)
		}
		key, _, _, _, err := ssh.ParseAuthorizedKey(data)
		if err != nil {
			return nil, fmt.Errorf("load host public key %s: %w", p, err)
		}
		if _, ok := key.(*ssh.Certificate); ok {
			return nil, fmt.Errorf("load host public key %s: is a certificate, expected a plain public key", p)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// writePublicKey writes dir/ssh_host_<type>_key.pub atomically, the file
// sshd_config's HostKey names in HostKeyAgent mode. The mode is 0600 because
// sshd 9.2 first tries to load a HostKey file as a private key and warns
// about every group- or world-readable one, at each connection.
func writePublicKey(dir, keyType string, pub ssh.PublicKey) error {
	if dir == "" {
		dir = "/etc/ssh"
	}
	path := filepath.Join(dir, "ssh_host_"+keyType+"_key.pub")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write public key %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, ".ssh_host_"+keyType+"_key.pub.*")
	if err != nil {
		return fmt.Errorf("write public key %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(ssh.MarshalAuthorizedKey(pub)); err != nil {
		tmp.Close()
		return fmt.Errorf("write public key %s: %w", path, err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write public key %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write public key %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write public key %s: %w", path, err)
	}
	return nil
}
