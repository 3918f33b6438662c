package main

import (
	"context"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rassh/rassh/enroll"
	"github.com/rassh/rassh/enroll/rasshd"
	"github.com/rassh/rassh/verifier/maa"
	"github.com/rassh/rassh/verifier/token"
)

func init() {
	commands["serve"] = command{Summary: "serve the HostKeyAgent and ra-ssh sockets, without enrolling", Run: runServe}
	startRASSH = startRASSHConfigured
}

// startRASSHConfigured starts rasshd with the token source that the ra_ssh
// section names: MAA, or by default the CA's token service.
func startRASSHConfigured(env *agentEnv) (raSSHServer, error) {
	agent, err := rasshd.Start(*env.Config.RASSH, newAttester(env), env.Logger)
	if err != nil {
		return nil, err
	}
	return rasshdServer{agent}, nil
}

func newAttester(env *agentEnv) rasshd.Attester {
	instance := strings.TrimSuffix(env.Config.RASSH.MAAInstanceURL, "/")
	if instance == "" {
		return &rasshd.CAAttester{Provider: env.Provider, CAURL: env.Config.CA.URL, HTTPClient: env.HTTPClient}
	}
	// MAA's tokens are checked before they are served, with the instance as
	// the only trusted issuer and its /certs as the only key source.
	tokens := &token.Verifier{Issuers: []token.IssuerConfig{{Issuer: instance, Kind: token.KindMAA}}}
	return &rasshd.MAAAttester{Provider: env.Provider, Client: &maa.Client{InstanceURL: instance, Tokens: tokens}}
}

func runServe(args []string) int {
	cfg, logger, status, ok := loadCommandConfig("serve", commands["serve"].Summary+" (uses the ca, evidence and ra_ssh sections)", args)
	if !ok {
		return status
	}
	if cfg.RASSH == nil {
		logger.Error("invalid configuration", "error", "the ra_ssh section is missing")
		return exitUsage
	}

	env, err := newServeEnv(cfg)
	if err != nil {
		logger.Error("invalid configuration", "error", err)
		return exitUsage
	}
	env.Logger = logger
	server, err := startRASSH(env)
	if err != nil {
		logger.Error("ra-ssh server failed to start", "error", err)
		return exitUsage
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	logger.Info("stopping ra-ssh server")
	if err := server.Close(); err != nil {
		logger.Error("ra-ssh server stopped with an error", "error", err)
	}
	return exitOK
}

// newServeEnv builds the evidence provider and the CA's HTTP client. Unlike
// run it does not contact the CA at start, so the sockets come up, and sshd
// can complete key exchanges, while the CA is unreachable.
func newServeEnv(cfg *config) (*agentEnv, error) {
	httpClient, err := enroll.NewHTTPClient(enroll.TLSOptions{Fingerprint: cfg.CA.TLSFingerprint, CABundle: cfg.CA.CABundle})
	if err != nil {
		return nil, err
	}
	logger := newLogger()
	provider, err := enroll.NewProvider(cfg.Evidence, logger)
	if err != nil {
		return nil, err
	}
	return &agentEnv{Config: cfg, Logger: logger, Provider: provider, HTTPClient: httpClient}, nil
}
