package main

import (
	"context"
	"errors"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/enroll"
	"github.com/rassh/rassh/enroll/rasshd"
)

func init() {
	commands["run"] = command{Summary: "enroll, keep the certificates renewed, and serve ra-ssh", Run: runRun}
}

// raSSHServer is the ra-ssh side of run.
type raSSHServer interface {
	// HostKeys returns the in-memory host keys to enroll, or nil when the
	// host keys are sshd's files.
	HostKeys() enroll.HostKeys
	Close() error
}

// startRASSH starts the ra-ssh server of the ra_ssh section. serve.go may
// replace it from an init function.
var startRASSH = startRASSHWithCA

// startRASSHWithCA starts rasshd with the CA's token service as the
// attester, over the same authenticated TLS client as enrollment.
func startRASSHWithCA(env *agentEnv) (raSSHServer, error) {
	att := &rasshd.CAAttester{Provider: env.Provider, CAURL: env.Config.CA.URL, HTTPClient: env.HTTPClient}
	agent, err := rasshd.Start(*env.Config.RASSH, att, env.Logger)
	if err != nil {
		return nil, err
	}
	return rasshdServer{agent}, nil
}

type rasshdServer struct{ *rasshd.Agent }

func (s rasshdServer) HostKeys() enroll.HostKeys {
	if s.Keys == nil {
		return nil
	}
	return s.Keys
}

func runRun(args []string) int {
	cfg, logger, status, ok := loadCommandConfig("run", commands["run"].Summary, args)
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

	// The ra-ssh server starts first: in HostKeyAgent mode it makes the
	// host keys that are enrolled, and sshd needs it for every key exchange.
	var keys enroll.HostKeys
	if cfg.RASSH != nil {
		server, err := startRASSH(env)
		if err != nil {
			logger.Error("ra-ssh server failed to start", "error", err)
			return exitUsage
		}
		defer server.Close()
		keys = server.HostKeys()
	}
	if env.CAKeys, err = waitCAKeys(ctx, env); err != nil {
		if ctx.Err() != nil {
			logger.Info("agent stopped")
			return exitOK
		}
		logger.Error("agent setup failed", "error", err)
		return exitCode(err)
	}
	agent, err := env.agent(keys)
	if err != nil {
		logger.Error("agent setup failed", "error", err)
		return exitCode(err)
	}

	logger.Info("agent started", "ca", cfg.CA.URL, "evidence", cfg.Evidence.Kind, "certificates", agent.CertPaths)
	if err := agent.Run(ctx); err != nil {
		logger.Error("agent stopped", "error", err)
		return exitUndecided
	}
	logger.Info("agent stopped")
	return exitOK
}

// waitCAKeys returns the trusted SSH CA keys, retrying a CA that cannot be
// reached, so that a host booting while the CA is down keeps its ra-ssh
// server up and enrolls once the CA is back.
func waitCAKeys(ctx context.Context, env *agentEnv) ([]ssh.PublicKey, error) {
	delay := time.Duration(env.Config.Renewal.MinBackoff)
	if delay <= 0 {
		delay = enroll.DefaultMinBackoff
	}
	maxDelay := time.Duration(env.Config.Renewal.MaxBackoff)
	if maxDelay <= 0 {
		maxDelay = enroll.DefaultMaxBackoff
	}
	for attempt := 1; ; attempt++ {
		keys, err := env.Config.caKeys(ctx, env.CA, env.Logger)
		var usage usageError
		if err == nil || errors.As(err, &usage) {
			return keys, err
		}
		env.Logger.Warn("fetching the SSH CA keys failed; retrying", "error", err, "attempt", attempt, "retry_in", delay.String())
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, maxDelay)
	}
}
