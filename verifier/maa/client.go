// Package maa is a client of Microsoft Azure Attestation (MAA): it posts a
// TDX quote and its Azure runtime data to an MAA instance's TdxVm endpoint
// and verifies the token MAA returns into normalized claims.
package maa

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rassh/rassh/verifier"
)

// Defaults for the zero values of Client's fields.
const (
	DefaultAPIVersion   = "2023-04-01-preview"
	DefaultMaxRetries   = 3
	DefaultMaxRetryWait = 10 * time.Second
	DefaultTimeout      = 30 * time.Second
)

// CheckAttest is the RejectedError check for evidence that MAA itself
// rejected (HTTP 400) or that cannot be sent to MAA at all.
const CheckAttest = "maa attest"

// TokenVerifier verifies the token MAA returns. *token.Verifier implements
// it, configured with the instance as a pinned issuer of kind "maa".
type TokenVerifier interface {
	Verify(ctx context.Context, raw string, host string) (*verifier.Claims, error)
}

// Client attests Azure TDX evidence with one MAA instance.
type Client struct {
	// InstanceURL is the MAA instance, for example
	// "https://sharedeus2.eus2.attest.azure.net".
	InstanceURL string
	// APIVersion is the api-version query value. Empty means DefaultAPIVersion.
	APIVersion string
	// HTTPClient sends the requests. Nil means a client with a 30 s timeout.
	HTTPClient *http.Client
	// Tokens verifies the returned token. It is required.
	Tokens TokenVerifier
	// MaxRetries is how many times a request is repeated after HTTP 429, a
	// 5xx status or a network error. Zero means DefaultMaxRetries; a
	// negative value means no retries.
	MaxRetries int
	// MaxRetryWait caps the wait before one retry, including a wait that
	// MAA requests with Retry-After. Zero means DefaultMaxRetryWait.
	MaxRetryWait time.Duration

	// backoff is the wait before the first retry, doubled for each further
	// one; zero means 250 ms. Tests shorten it.
	backoff time.Duration
}

type attestRequest struct {
	Quote       string      `json:"quote"`
	RuntimeData runtimeData `json:"runtimeData"`
}

type runtimeData struct {
	Data     string `json:"data"`
	DataType string `json:"dataType"`
}

// Attest sends ev (an azure-tdx quote with its runtime data) to MAA and
// returns the token and its verified claims, with EvidenceDigest set to
// SHA-256 over the quote followed by the runtime data. MAA's own rejection
// (HTTP 400) is a *verifier.RejectedError with MAA's message; an instance
// that cannot be reached or keeps failing gives a *verifier.UndecidedError.
// The context's deadline bounds all attempts together.
func (c *Client) Attest(ctx context.Context, ev verifier.Evidence) (string, *verifier.Claims, error) {
	body, err := requestBody(ev)
	if err != nil {
		return "", nil, err
	}
	raw, err := c.post(ctx, body)
	if err != nil {
		return "", nil, err
	}

	claims, err := c.Tokens.Verify(ctx, raw, "")
	if err != nil {
		return "", nil, err
	}
	digest := sha256.New()
	digest.Write(ev.Quote)
	digest.Write(ev.RuntimeData)
	claims.EvidenceDigest = digest.Sum(nil)
	return raw, claims, nil
}

func requestBody(ev verifier.Evidence) ([]byte, error) {
	switch {
	case ev.Kind != verifier.EvidenceAzureTDX:
		return nil, verifier.Reject(CheckAttest, "evidence kind %q; MAA's TdxVm endpoint takes %q", ev.Kind, verifier.EvidenceAzureTDX)
	case len(ev.Quote) == 0 || len(ev.Quote) > verifier.MaxQuoteSize:
		return nil, verifier.Reject(CheckAttest, "quote of %d bytes; want 1 to %d", len(ev.Quote), verifier.MaxQuoteSize)
	case len(ev.RuntimeData) == 0 || len(ev.RuntimeData) > verifier.MaxRuntimeDataSize:
		return nil, verifier.Reject(CheckAttest, "runtime data of %d bytes; want 1 to %d", len(ev.RuntimeData), verifier.MaxRuntimeDataSize)
	}
	return json.Marshal(attestRequest{
		Quote: base64.RawURLEncoding.EncodeToString(ev.Quote),
		RuntimeData: runtimeData{
			Data:     base64.RawURLEncoding.EncodeToString(ev.RuntimeData),
			DataType: "JSON",
		},
	})
}

func (c *Client) attestURL() string {
	version := c.APIVersion
	if version == "" {
		version = DefaultAPIVersion
	}
	return strings.TrimSuffix(c.InstanceURL, "/") + "/attest/TdxVm?api-version=" + version
}

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return &http.Client{Timeout: DefaultTimeout}
}

func (c *Client) newRequest(ctx context.Context, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.attestURL(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("maa attest: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return req, nil
}
