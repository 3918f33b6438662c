package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// benchPolicy is the CA's attestation policy for the benchmark: simulated
// quotes carry no Intel collateral, so it requires none and accepts
// simulated TDs. It must never be used outside development.
const benchPolicy = "require_collateral: false\nallow_simulated: true\n"

// startCA creates a CA with "rassh-ca init" that trusts the simulated TD
// authority and serves the token service. It lifts the token service's rate
// limit, because fresh mode requests a token per connection, faster than the
// default 2 per second. Then it runs "rassh-ca serve" until procs stops it.
func (tb *testbed) startCA(ctx context.Context, bin tools, procs *processes) error {
	policy := filepath.Join(tb.Dir, "policy.yaml")
	if err := os.WriteFile(policy, []byte(benchPolicy), 0o600); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	caDir := filepath.Join(tb.Dir, "ca")
	if err := runTool(bin.CA, "init", "--dir", caDir, "--host-patterns", hostName, "--listen", "127.0.0.1:"+port,
		"--collateral", "none", "--policy", policy, "--simulation-roots", filepath.Join(tb.SimDir, "root.pem"),
		"--token-service-allow-simulated"); err != nil {
		return err
	}
	config := filepath.Join(caDir, "config.yaml")
	if err := liftRateLimit(config); err != nil {
		return err
	}
	if tb.TLSPin, err = certFingerprint(filepath.Join(caDir, "self-signed.crt")); err != nil {
		return err
	}
	tb.CAURL = "https://127.0.0.1:" + port
	tb.AdminToken = filepath.Join(caDir, "admin-token")

	c, err := procs.start(tb.CALog, bin.CA, "serve", "--config", config)
	if err != nil {
		return err
	}
	if !waitListening(ctx, c, "127.0.0.1:"+port, 15*time.Second) {
		return fmt.Errorf("rassh-ca serve did not start listening (log %s)", tb.CALog)
	}
	return nil
}

// liftRateLimit sets the token service's rate and burst, overall and per
// source address, in the CA's configuration file to 1000, because fresh mode
// requests one token per connection, all from 127.0.0.1.
func liftRateLimit(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return fmt.Errorf("CA config %s: %w", path, err)
	}
	ts, ok := cfg["token_service"].(map[string]any)
	if !ok {
		return fmt.Errorf("CA config %s: no token_service section", path)
	}
	ts["rate"], ts["burst"] = 1000, 1000
	ts["rate_per_source"], ts["burst_per_source"] = 1000, 1000
	if data, err = yaml.Marshal(cfg); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

func certFingerprint(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return "", fmt.Errorf("no PEM certificate in %s", path)
	}
	sum := sha256.Sum256(block.Bytes)
	return hex.EncodeToString(sum[:]), nil
}

// admin runs "rassh-ca admin" with the CA's URL, pin and admin token, and
// returns its standard output.
func (tb *testbed) admin(bin tools, args ...string) (string, error) {
	argv := append(args, "--ca", tb.CAURL, "--ca-fingerprint", tb.TLSPin, "--admin-token-file", tb.AdminToken)
	cmd := exec.Command(bin.CA, append([]string{"admin"}, argv...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("rassh-ca admin %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// Paths counted in the CA's request log.
const (
	attestPath = "/v1/attest"
	jwksPath   = "/v1/jwks"
)

// caRequests are the CA's request log lines of one path, from its JSON log.
type caRequests struct {
	Count     int
	Durations []time.Duration
}

// countRequests reads the CA's log and returns, per path, how many requests
// it logged and how long the CA spent on each.
func (tb *testbed) countRequests() (map[string]caRequests, error) {
	f, err := os.Open(tb.CALog)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	counts := map[string]caRequests{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg      string `json:"msg"`
			Path     string `json:"path"`
			Duration int64  `json:"duration"` // nanoseconds, as slog's JSON handler writes a time.Duration
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Msg != "request" {
			continue
		}
		r := counts[line.Path]
		r.Count++
		r.Durations = append(r.Durations, time.Duration(line.Duration))
		counts[line.Path] = r
	}
	return counts, sc.Err()
}
