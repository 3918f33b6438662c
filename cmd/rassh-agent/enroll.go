package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/enroll"
)

func init() {
	commands["enroll"] = command{Summary: "enroll the host keys once and install the certificates", Run: runEnroll}
}

func runEnroll(args []string) int {
	cfg, logger, status, ok := loadCommandConfig("enroll", commands["enroll"].Summary, args)
	if !ok {
		return status
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	env, err := newAgentEnv(cfg, logger)
	if err != nil {
		logger.Error("agent setup failed", "error", err)
		return exitCode(err)
	}
	if env.CAKeys, err = cfg.caKeys(ctx, env.CA, logger); err != nil {
		logger.Error("agent setup failed", "error", err)
		return exitCode(err)
	}
	agent, err := env.agent(nil)
	if err != nil {
		logger.Error("agent setup failed", "error", err)
		return exitCode(err)
	}
	enrollment, err := agent.EnrollOnce(ctx)
	if err != nil {
		logger.Error("enrollment failed", "error", err)
		return exitCode(err)
	}
	logEnrollment(logger, enrollment, agent.CertPaths)
	return exitOK
}

func newLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

// agentEnv holds the configuration, the CA client and the evidence provider
// that the agent's commands and the ra-ssh server share.
type agentEnv struct {
	Config   *config
	Logger   *slog.Logger
	Provider enroll.Provider
	// HTTPClient authenticates the CA as the ca section configures.
	HTTPClient *http.Client
	CA         *enroll.Client
	CAKeys     []ssh.PublicKey
}

// newAgentEnv builds the environment without contacting the CA; CAKeys is
// left for the command to fill.
func newAgentEnv(cfg *config, logger *slog.Logger) (*agentEnv, error) {
	httpClient, err := enroll.NewHTTPClient(enroll.TLSOptions{Fingerprint: cfg.CA.TLSFingerprint, CABundle: cfg.CA.CABundle})
	if err != nil {
		return nil, usageError{err}
	}
	provider, err := enroll.NewProvider(cfg.Evidence, logger)
	if err != nil {
		return nil, usageError{err}
	}
	return &agentEnv{
		Config:     cfg,
		Logger:     logger,
		Provider:   provider,
		HTTPClient: httpClient,
		CA:         &enroll.Client{BaseURL: cfg.CA.URL, HTTPClient: httpClient},
	}, nil
}

// agent builds the enrollment agent. keys are the in-memory host keys of
// the ra-ssh HostKeyAgent, or nil to read host.keys from disk.
func (env *agentEnv) agent(keys enroll.HostKeys) (*enroll.Agent, error) {
	cfg := env.Config
	var certPaths []string
	if keys == nil {
		fileKeys, err := enroll.LoadHostKeys(cfg.Host.Keys)
		if err != nil {
			return nil, usageError{err}
		}
		keys = fileKeys
		for _, path := range cfg.Host.Keys {
			certPaths = append(certPaths, enroll.CertPath(path))
		}
	} else {
		for _, key := range keys.Public() {
			certPaths = append(certPaths, enroll.CertPathIn(cfg.certDir(), key))
		}
	}
	seen := map[string]bool{}
	for _, p := range certPaths {
		if seen[p] {
			return nil, usageError{fmt.Errorf("two host keys would share the certificate file %s", p)}
		}
		seen[p] = true
	}
	joinToken, err := cfg.joinToken()
	if err != nil {
		return nil, usageError{err}
	}

	return &enroll.Agent{
		Enroller: &enroll.Enroller{
			CA:           env.CA,
			Provider:     env.Provider,
			HostKeys:     keys,
			CAKeys:       env.CAKeys,
			Principals:   cfg.Host.Principals,
			JoinToken:    joinToken,
			RequireRASSH: cfg.Host.RequireRASSH,
		},
		CertPaths:  certPaths,
		Reloader:   &enroll.Reloader{Command: cfg.Reload.Command, Timeout: time.Duration(cfg.Reload.Timeout)},
		Logger:     env.Logger,
		MinBackoff: time.Duration(cfg.Renewal.MinBackoff),
		MaxBackoff: time.Duration(cfg.Renewal.MaxBackoff),
	}, nil
}

func logEnrollment(logger *slog.Logger, e *enroll.Enrollment, paths []string) {
	for i, cert := range e.Certificates {
		logger.Info("certificate installed",
			"path", paths[i],
			"serial", cert.Serial,
			"principals", cert.ValidPrincipals,
			"valid_before", time.Unix(int64(cert.ValidBefore), 0).UTC().Format(time.RFC3339))
	}
}

// usageError marks an error in the configuration or its files.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// exitCode maps an error to the command's exit status: configuration
// errors are usage errors, rejections by the CA or of its certificates are
// rejections, and everything else (network, CA failures) is undecided.
func exitCode(err error) int {
	var usage usageError
	if errors.As(err, &usage) {
		return exitUsage
	}
	var apiErr *enroll.APIError
	if errors.As(err, &apiErr) {
		if apiErr.Rejected() {
			return exitRejected
		}
		return exitUndecided
	}
	var certErr *enroll.CertError
	if errors.As(err, &certErr) {
		return exitRejected
	}
	return exitUndecided
}
