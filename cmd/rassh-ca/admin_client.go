package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/rassh/rassh/api/wire"
)

// maxAdminResponse bounds API responses the admin commands read.
const maxAdminResponse = 64 << 20

// apiClient calls the CA's API for the admin commands.
type apiClient struct {
	baseURL string
	token   string
	http    *http.Client
}

// clientFlags are the connection flags every API-backed admin command takes.
type clientFlags struct {
	caURL, tokenFile, fingerprint, bundle string
	insecure                              bool
}

func newFlagSet(name string) *flag.FlagSet {
	return flag.NewFlagSet("rassh-ca "+name, flag.ContinueOnError)
}

func parseFlags(fs *flag.FlagSet, args []string) bool {
	if err := fs.Parse(args); err != nil {
		return false
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return false
	}
	return true
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.caURL, "ca", os.Getenv("RASSH_CA_URL"), "CA URL, for example https://127.0.0.1:8443 (default $RASSH_CA_URL)")
	fs.StringVar(&c.tokenFile, "admin-token-file", os.Getenv("RASSH_ADMIN_TOKEN_FILE"), "file holding the admin token (default $RASSH_ADMIN_TOKEN_FILE)")
	fs.StringVar(&c.fingerprint, "ca-fingerprint", "", "SHA-256 of the CA's TLS certificate, in hex, to pin it")
	fs.StringVar(&c.bundle, "ca-bundle", "", "PEM file of roots that the CA's TLS certificate chains to")
	fs.BoolVar(&c.insecure, "insecure", false, "do not authenticate the CA's TLS certificate (development only)")
}

// client builds the API client. needToken is true for admin routes, which
// need the admin token.
func (c *clientFlags) client(needToken bool) (*apiClient, error) {
	if c.caURL == "" {
		return nil, errors.New("--ca is required")
	}
	tlsConfig, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	ac := &apiClient{
		baseURL: strings.TrimSuffix(c.caURL, "/"),
		http:    &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig}},
	}
	if needToken {
		if c.tokenFile == "" {
			return nil, errors.New("--admin-token-file is required")
		}
		b, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("read admin token: %w", err)
		}
		ac.token = strings.TrimSpace(string(b))
	}
	return ac, nil
}

func (c *clientFlags) tlsConfig() (*tls.Config, error) {
	set := 0
	for _, given := range []bool{c.fingerprint != "", c.bundle != "", c.insecure} {
		if given {
			set++
		}
	}
	if set > 1 {
		return nil, errors.New("give at most one of --ca-fingerprint, --ca-bundle and --insecure")
	}
	switch {
	case c.fingerprint != "":
		want, err := parseFingerprint(c.fingerprint)
		if err != nil {
			return nil, err
		}
		return &tls.Config{
			// The pin replaces chain and name checks, which a self-signed
			// certificate cannot pass.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 {
					return errors.New("CA presented no TLS certificate")
				}
				got := sha256.Sum256(cs.PeerCertificates[0].Raw)
				if subtle.ConstantTimeCompare(got[:], want) != 1 {
					return fmt.Errorf("CA TLS certificate fingerprint %x does not match --ca-fingerprint", got)
				}
				return nil
			},
		}, nil
	case c.bundle != "":
		b, err := os.ReadFile(c.bundle)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("--ca-bundle %s contains no PEM certificate", c.bundle)
		}
		return &tls.Config{RootCAs: pool}, nil
	case c.insecure:
		return &tls.Config{InsecureSkipVerify: true}, nil
	}
	return nil, nil
}

// parseFingerprint accepts hex with or without colons and a "sha256:" prefix.
func parseFingerprint(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "sha256:")
	b, err := hex.DecodeString(strings.ReplaceAll(s, ":", ""))
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("--ca-fingerprint %q is not a SHA-256 in hex", s)
	}
	return b, nil
}

// connectHint returns advice for a connection error: a TLS error that a
// missing or wrong --ca-fingerprint or --ca-bundle causes, or a refused
// connection. It returns "" for other errors.
func connectHint(err error) string {
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	if errors.As(err, &unknownAuthority) || errors.As(err, &hostname) {
		return "; pass --ca-fingerprint with the TLS certificate fingerprint that \"rassh-ca init\" printed, " +
			"or --ca-bundle with a PEM file of the roots the CA's certificate chains to"
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return "; check that rassh-ca serve is running and that --ca names its listen address"
	}
	return ""
}

// do sends a request and decodes the JSON response into out, unless out is a
// *[]byte, which receives the raw body.
func (c *apiClient) do(method, path string, body, out any) error {
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.baseURL+path, reader)
	if err != nil {
		return err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if _, raw := out.(*[]byte); raw && path == "/v1/ca" {
		req.Header.Set("Accept", "text/plain")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w%s", err, connectHint(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAdminResponse))
	if err != nil {
		return fmt.Errorf("read response of %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e wire.Error
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s %s: HTTP %d %s: %s", method, path, resp.StatusCode, e.Code, e.Error)
		}
		return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	switch o := out.(type) {
	case nil:
		return nil
	case *[]byte:
		*o = data
		return nil
	}
	return json.Unmarshal(data, out)
}

func printJSON(v any) int {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fail(err)
	}
	return exitOK
}
