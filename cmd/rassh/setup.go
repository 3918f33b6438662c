package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/rassh/rassh/client"
	"github.com/rassh/rassh/verifier/policy"
	"github.com/rassh/rassh/verifier/token"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// newDialer builds the client from the configuration.
func newDialer(cfg *client.Config) (*client.Dialer, error) {
	hosts, err := newHostChecker(cfg)
	if err != nil {
		return nil, err
	}
	auth, err := authMethods(cfg)
	if err != nil {
		return nil, err
	}
	d := &client.Dialer{Hosts: hosts, Auth: auth, Socket: cfg.AgentSocket, AllowNoRASSH: cfg.AllowNoRASSH,
		Timeout: time.Duration(cfg.ConnectTimeout), HostKeyAlias: cfg.HostKeyAlias}
	if cfg.AttestMode() == client.ModeOff {
		return d, nil
	}
	if d.Verifier, err = newVerifier(cfg); err != nil {
		return nil, err
	}
	return d, nil
}

func newHostChecker(cfg *client.Config) (*client.HostChecker, error) {
	files := []string(cfg.KnownHosts)
	if len(files) == 0 {
		files = []string{"~/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts"}
	}
	for i := range files {
		files[i] = client.ExpandHome(files[i])
	}
	kh, err := client.LoadKnownHosts(files...)
	if err != nil {
		return nil, err
	}
	checker := &client.HostChecker{KnownHosts: kh}
	if cfg.KRL != "" {
		if checker.KRL, err = client.LoadKRL(client.ExpandHome(cfg.KRL)); err != nil {
			return nil, err
		}
	}
	return checker, nil
}

func newVerifier(cfg *client.Config) (*client.Verifier, error) {
	if len(cfg.Issuers) == 0 {
		return nil, errors.New("no trusted issuers configured: add issuers to the configuration file, or use -o mode=off")
	}
	maxAge := time.Duration(cfg.MaxTokenAge)
	if maxAge == 0 {
		maxAge = client.DefaultMaxTokenAge
	}
	keySets, err := client.KeySetHTTPClient(cfg.Issuers)
	if err != nil {
		return nil, err
	}
	tokens := &token.Verifier{Issuers: client.TokenIssuers(cfg.Issuers), HTTPClient: keySets, MaxAge: maxAge, KeyCacheDir: cacheDir(cfg)}
	if err := tokens.Validate(); err != nil {
		return nil, err
	}
	v := &client.Verifier{Tokens: cachedTokens(cfg, tokens), Policy: client.Policy{Mode: cfg.AttestMode(), MaxTokenAge: maxAge,
		MaxEpoch: time.Duration(cfg.MaxEpoch), AllowUnbound: cfg.AllowUnbound}}
	if cfg.Policy == "" {
		v.Claims = client.DefaultClaimsPolicy{AllowSimulated: cfg.AllowSimulated}
		return v, nil
	}
	p, err := policy.Load(client.ExpandHome(cfg.Policy))
	if err != nil {
		return nil, err
	}
	v.Claims = p
	return v, nil
}

// cacheDir returns the directory for verified key sets and tokens, "" for
// none.
func cacheDir(cfg *client.Config) string {
	switch cfg.CacheDir {
	case "none":
		return ""
	case "":
		dir, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		return filepath.Join(dir, "rassh")
	}
	return client.ExpandHome(cfg.CacheDir)
}

// cachedTokens puts the on-disk cache of verified tokens in front of tokens
// in epoch mode. A fresh-mode token is bound to one connection, so caching
// it would only evict epoch tokens.
func cachedTokens(cfg *client.Config, tokens *token.Verifier) client.TokenVerifier {
	dir := cacheDir(cfg)
	if dir == "" || !cfg.TokenCacheEnabled() || cfg.AttestMode() != client.ModeEpoch {
		return tokens
	}
	return &client.TokenCache{Tokens: tokens, Dir: filepath.Join(dir, "tokens")}
}

// authMethods offers public keys only: the ssh agent's, then the identity
// files'. rassh never asks for a password or a keyboard-interactive answer.
func authMethods(cfg *client.Config) ([]ssh.AuthMethod, error) {
	var signers []ssh.Signer
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
		if conn, err := net.Dial("unix", sock); err == nil {
			if agentSigners, err := agent.NewClient(conn).Signers(); err == nil {
				signers = append(signers, agentSigners...)
			}
		}
	}
	files, explicit := []string(cfg.IdentityFiles), len(cfg.IdentityFiles) > 0
	if !explicit {
		files = []string{"~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa"}
	}
	for _, f := range files {
		s, err := loadIdentity(client.ExpandHome(f))
		switch {
		case errors.Is(err, os.ErrNotExist) && !explicit:
			continue
		case err != nil:
			fail("%v", err)
			continue
		}
		signers = append(signers, s)
	}
	if len(signers) == 0 {
		return nil, errors.New("no private key to offer: start ssh-agent with keys, or pass -i FILE")
	}
	return []ssh.AuthMethod{ssh.PublicKeys(signers...)}, nil
}

func loadIdentity(path string) (ssh.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("identity %s: %w", path, err)
	}
	s, err := ssh.ParsePrivateKey(data)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("identity %s is encrypted: add it to ssh-agent (ssh-add %s)", path, path)
	}
	if err != nil {
		return nil, fmt.Errorf("identity %s: %w", path, err)
	}
	return s, nil
}
