package enroll

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/api/wire"
)

// maxResponseSize bounds every CA response body the client reads.
const maxResponseSize = 1 << 20

// Client calls the CA's enrollment API.
type Client struct {
	// BaseURL is the CA's URL without the /v1 path, for example
	// https://ca.example.com:8443.
	BaseURL string
	// HTTPClient sends the requests. Nil means http.DefaultClient, which
	// trusts the system roots only; NewHTTPClient builds one that pins the
	// CA's server certificate or trusts a CA bundle.
	HTTPClient *http.Client
}

// APIError is an error response from the CA.
type APIError struct {
	Status  int    // HTTP status code
	Code    string // stable machine-readable code, for example "challenge_replayed"
	Message string // the CA's public message
}

func (e *APIError) Error() string {
	return fmt.Sprintf("CA returned HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// Rejected reports whether the CA refused the request itself (HTTP 4xx),
// as opposed to failing to decide (5xx).
func (e *APIError) Rejected() bool { return e.Status >= 400 && e.Status < 500 }

// Challenge asks the CA for a fresh single-use enrollment nonce.
func (c *Client) Challenge(ctx context.Context) (*wire.ChallengeResponse, error) {
	var resp wire.ChallengeResponse
	if err := c.do(ctx, http.MethodPost, "/v1/challenges", nil, &resp); err != nil {
		return nil, fmt.Errorf("get challenge: %w", err)
	}
	if len(resp.Nonce) == 0 {
		return nil, fmt.Errorf("get challenge: CA returned an empty nonce")
	}
	return &resp, nil
}

// Enroll posts an enrollment request and returns the CA's answer unchecked;
// Enroller checks the certificates it contains.
func (c *Client) Enroll(ctx context.Context, req *wire.EnrollmentRequest) (*wire.EnrollmentResponse, error) {
	var resp wire.EnrollmentResponse
	if err := c.do(ctx, http.MethodPost, "/v1/enrollments", req, &resp); err != nil {
		return nil, fmt.Errorf("enroll: %w", err)
	}
	return &resp, nil
}

// CAKeys fetches the CA's SSH public keys from GET /v1/ca.
func (c *Client) CAKeys(ctx context.Context) ([]ssh.PublicKey, error) {
	var resp wire.CAResponse
	if err := c.do(ctx, http.MethodGet, "/v1/ca", nil, &resp); err != nil {
		return nil, fmt.Errorf("get CA keys: %w", err)
	}
	keys, err := ParseCAKeys(resp.PublicKeys)
	if err != nil {
		return nil, fmt.Errorf("get CA keys: %w", err)
	}
	return keys, nil
}

// ParseCAKeys parses authorized_keys lines of CA public keys. It fails on an
// empty list, a certificate, or a line that does not parse.
func ParseCAKeys(lines []string) ([]ssh.PublicKey, error) {
	var keys []ssh.PublicKey
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("parse CA key %q: %w", line, err)
		}
		if _, isCert := key.(*ssh.Certificate); isCert {
			return nil, fmt.Errorf("parse CA key %q: is a certificate, expected a plain public key", line)
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, errors.New("no CA keys")
	}
	return keys, nil
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+path, reader)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	httpClient := c.HTTPClient
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseSize+1))
	if err != nil {
		return fmt.Errorf("read response of %s %s: %w", method, path, err)
	}
	if len(data) > maxResponseSize {
		return fmt.Errorf("response of %s %s larger than %d bytes", method, path, maxResponseSize)
	}

	if resp.StatusCode/100 != 2 {
		return decodeAPIError(resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode response of %s %s: %w", method, path, err)
	}
	return nil
}

func decodeAPIError(status int, data []byte) *APIError {
	var body wire.Error
	apiErr := &APIError{Status: status}
	if err := json.Unmarshal(data, &body); err == nil && body.Error != "" {
		apiErr.Code, apiErr.Message = body.Code, body.Error
	} else {
		apiErr.Message = http.StatusText(status)
	}
	return apiErr
}

// JoinTokenDigest returns the join-token digest that the enrollment binding
// covers: SHA-256 of the token string, or empty when there is no token.
func JoinTokenDigest(token string) []byte {
	if token == "" {
		return nil
	}
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
