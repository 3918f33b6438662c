package azuretpm

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/rassh/rassh/verifier"
)

// DefaultIMDSURL is the Azure Instance Metadata Service, reachable only from
// inside an Azure VM.
const DefaultIMDSURL = "http://169.254.169.254/"

// maxIMDSResponseSize bounds the IMDS answer: a base64url quote of at most
// verifier.MaxQuoteSize bytes plus JSON framing.
const maxIMDSResponseSize = verifier.MaxQuoteSize*4/3 + 1024

// IMDS asks the Azure Instance Metadata Service to turn a TDREPORT into a
// TD quote (POST /acc/tdquote).
type IMDS struct {
	// BaseURL is the service's URL; empty means DefaultIMDSURL.
	BaseURL string
	// HTTPClient sends the request; nil means a client that never uses a
	// proxy, with a 30-second timeout.
	HTTPClient *http.Client
}

type tdQuoteRequest struct {
	Report string `json:"report"`
}

type tdQuoteResponse struct {
	Quote string `json:"quote"`
}

var defaultIMDSClient = &http.Client{
	Transport: &http.Transport{Proxy: nil},
	Timeout:   30 * time.Second,
}

// TDQuote returns the quote for a 1024-byte TDREPORT.
func (c *IMDS) TDQuote(ctx context.Context, tdReport []byte) ([]byte, error) {
	body, err := json.Marshal(tdQuoteRequest{Report: base64.URLEncoding.EncodeToString(tdReport)})
	if err != nil {
		return nil, err
	}
	base := c.BaseURL
	if base == "" {
		base = DefaultIMDSURL
	}
	url := strings.TrimSuffix(base, "/") + "/acc/tdquote"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("imds: %w", err)
	}
	req.Header.Set("Metadata", "true")
	req.Header.Set("Content-Type", "application/json")

	client := c.HTTPClient
	if client == nil {
		client = defaultIMDSClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("imds: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxIMDSResponseSize+1))
	if err != nil {
		return nil, fmt.Errorf("imds: read response of %s: %w", url, err)
	}
	if len(data) > maxIMDSResponseSize {
		return nil, fmt.Errorf("imds: response of %s larger than %d bytes", url, maxIMDSResponseSize)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("imds: POST %s returned HTTP %d: %s", url, resp.StatusCode, bytes.TrimSpace(data[:min(len(data), 200)]))
	}

	var answer tdQuoteResponse
	if err := json.Unmarshal(data, &answer); err != nil {
		return nil, fmt.Errorf("imds: decode response of %s: %w", url, err)
	}
	quote, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(answer.Quote, "="))
	if err != nil {
		return nil, fmt.Errorf("imds: decode quote: %w", err)
	}
	if len(quote) == 0 {
		return nil, fmt.Errorf("imds: empty quote")
	}
	return quote, nil
}
