package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/api"
	"github.com/rassh/rassh/ca"
	"github.com/rassh/rassh/store"
)

func init() {
	commands["serve"] = command{Summary: "run the CA's HTTPS API", Run: runServe}
}

// Files of the generated development TLS certificate, in the config directory.
const (
	selfSignedCert = "self-signed.crt"
	selfSignedKey  = "self-signed.key"
)

// Intervals of the server's housekeeping.
const (
	sweepEvery      = time.Minute
	shutdownTimeout = 10 * time.Second
)

func runServe(args []string) int {
	fs := flag.NewFlagSet("rassh-ca serve", flag.ContinueOnError)
	configPath := fs.String("config", "", "configuration file written by rassh-ca init")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *configPath == "" || fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "rassh-ca serve: --config is required, and no arguments are allowed")
		return exitUsage
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "rassh-ca serve: %v\n", err)
		return exitUsage
	}
	logger := newLogger(cfg.Log)
	if err := serve(cfg, logger); err != nil {
		logger.Error("rassh-ca stopped with an error", "error", err)
		return exitRejected
	}
	return exitOK
}

func newLogger(c LogConfig) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(c.Level)) // validated by loadConfig; "" is info
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

// serve runs the API until SIGTERM or SIGINT, then shuts down gracefully.
func serve(cfg *Config, logger *slog.Logger) error {
	st, err := store.Open(cfg.path(cfg.Store), false)
	if err != nil {
		return err
	}
	defer st.Close()

	tlsConfig, fingerprint, err := loadTLS(cfg)
	if err != nil {
		return err
	}
	// Listen before building the API, so that the token service's default
	// issuer has the port actually bound.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	srv, err := newAPIServer(cfg, st, ln.Addr(), logger)
	if err != nil {
		ln.Close()
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go sweepChallenges(ctx, st, logger)

	logger.Info("rassh-ca started", "address", ln.Addr().String(), "tls_sha256", fingerprint,
		"ca_key", ssh.FingerprintSHA256(srv.CAKey), "verifier", cfg.Verifier.Mode, "store", st.Path())
	return serveUntilDone(ctx, newHTTPServer(srv.Handler(), tlsConfig, logger), ln, logger)
}

// newHTTPServer returns the HTTPS server of the API, with timeouts that bound
// slow clients.
func newHTTPServer(handler http.Handler, tlsConfig *tls.Config, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// serveUntilDone serves HTTPS on ln until ctx is done, then shuts the server
// down, waiting up to shutdownTimeout for requests in flight.
func serveUntilDone(ctx context.Context, httpServer *http.Server, ln net.Listener, logger *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- httpServer.ServeTLS(ln, "", "") }()

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("rassh-ca stopping", "reason", "signal")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	logger.Info("rassh-ca stopped")
	return nil
}

func sweepChallenges(ctx context.Context, st *store.Store, logger *slog.Logger) {
	ticker := time.NewTicker(sweepEvery)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			n, err := st.SweepChallenges(now)
			if err != nil {
				logger.Error("sweep expired challenges", "error", err)
			} else if n > 0 {
				logger.Debug("swept expired challenges", "count", n)
			}
		}
	}
}

// newAPIServer wires the signing authority, verifier, policy and token
// service into the API. addr is the address the server listens on.
func newAPIServer(cfg *Config, st *store.Store, addr net.Addr, logger *slog.Logger) (*api.Server, error) {
	signer, err := loadCAKey(cfg.path(cfg.CAKey))
	if err != nil {
		return nil, err
	}
	ev, err := newEvidenceVerifier(cfg, logger)
	if err != nil {
		return nil, err
	}
	pol, err := loadPolicy(cfg)
	if err != nil {
		return nil, err
	}
	tokens, err := newTokenService(cfg, addr, ev, logger)
	if err != nil {
		return nil, err
	}
	auth := &ca.Authority{
		Signer:       signer,
		Store:        st,
		Verifier:     ev,
		Policy:       pol,
		HostPatterns: cfg.Certificates.HostPatterns,
		Lifetime:     time.Duration(cfg.Certificates.Lifetime),
		Backdate:     time.Duration(cfg.Certificates.Backdate),
		RequireRASSH: cfg.Certificates.RequireRASSH,

		RequireHostKeyProof: !cfg.Certificates.AllowMissingHostKeyProof,
	}
	if auth.AzureParavisorMRTDs, err = cfg.paravisorMRTDs(); err != nil {
		return nil, err
	}
	return &api.Server{
		Enroller:     auth,
		Store:        st,
		CAKey:        signer.PublicKey(),
		HostPatterns: cfg.Certificates.HostPatterns,
		ChallengeTTL: time.Duration(cfg.Challenges.TTL),
		MaxBodyBytes: cfg.API.MaxBodyBytes,
		TokenService: tokens,
		Logger:       logger,

		ChallengeRatePerSource:  cfg.Challenges.RatePerSource,
		ChallengeBurstPerSource: cfg.Challenges.BurstPerSource,
		MaxSources:              cfg.API.MaxSources,
	}, nil
}

// loadCAKey reads the CA's OpenSSH private key, refusing a file that others
// may read.
func loadCAKey(path string) (ssh.Signer, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load CA key: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("load CA key %s: mode %04o lets others read it; run chmod 600 %s", path, info.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load CA key: %w", err)
	}
	key, err := ssh.ParseRawPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("load CA key %s: %w", path, err)
	}
	if k, ok := key.(*ed25519.PrivateKey); ok {
		key = *k // ParseRawPrivateKey returns a pointer, which is no crypto.Signer
	}
	cs, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("load CA key %s: key type %T cannot sign", path, key)
	}
	signer, err := ca.NewSigner(cs)
	if err != nil {
		return nil, fmt.Errorf("load CA key %s: %w", path, err)
	}
	return signer, nil
}

// loadTLS returns the server's TLS configuration and the SHA-256 fingerprint
// of its leaf certificate, in hex.
func loadTLS(cfg *Config) (*tls.Config, string, error) {
	certPath, keyPath := cfg.path(cfg.TLS.Cert), cfg.path(cfg.TLS.Key)
	if certPath == "" {
		hosts := cfg.TLS.Hosts
		if len(hosts) == 0 {
			hosts = []string{"localhost", "127.0.0.1", "::1"}
		}
		if _, err := ensureSelfSigned(cfg.dir, hosts, time.Now()); err != nil {
			return nil, "", err
		}
		certPath, keyPath = filepath.Join(cfg.dir, selfSignedCert), filepath.Join(cfg.dir, selfSignedKey)
	}
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, "", fmt.Errorf("load TLS certificate: %w", err)
	}
	sum := sha256.Sum256(pair.Certificate[0])
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, hex.EncodeToString(sum[:]), nil
}

// ensureSelfSigned creates a self-signed ECDSA P-256 server certificate in dir
// unless one is there, and returns its SHA-256 fingerprint in hex. It is
// valid for ten years, so agents that pin it keep working across restarts.
func ensureSelfSigned(dir string, hosts []string, now time.Time) (string, error) {
	certPath, keyPath := filepath.Join(dir, selfSignedCert), filepath.Join(dir, selfSignedKey)
	if pemBytes, err := os.ReadFile(certPath); err == nil {
		fingerprint, err := pemFingerprint(pemBytes)
		if err != nil {
			return "", fmt.Errorf("read self-signed certificate %s: %w; delete it and %s to generate a new pair", certPath, err, keyPath)
		}
		return fingerprint, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read self-signed certificate: %w", err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "rassh-ca (self-signed)"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", fmt.Errorf("create self-signed certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	if err := writeNew(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", fmt.Errorf("write self-signed key: %w", err)
	}
	if err := writeNew(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", fmt.Errorf("write self-signed certificate: %w", err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// pemFingerprint returns the SHA-256 fingerprint, in hex, of the first PEM
// block of b, which must be a certificate.
func pemFingerprint(b []byte) (string, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return "", errors.New("no PEM certificate found")
	}
	sum := sha256.Sum256(block.Bytes)
	return hex.EncodeToString(sum[:]), nil
}
