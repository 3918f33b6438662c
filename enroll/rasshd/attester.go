package rasshd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/binding"
)

// Attester turns a binding value into an attestation token whose attested
// binding value is v.
type Attester interface {
	Attest(ctx context.Context, v binding.Value) (token string, err error)
}

// Provider produces attestation evidence bound to a binding value (a TDX
// quote, or an Azure quote with runtime data). The enroll package's
// providers implement it.
type Provider interface {
	Evidence(ctx context.Context, v binding.Value) (verifier.Evidence, error)
}

// maxAttestResponse bounds the token service's response, because tokens are a few KiB.
const maxAttestResponse = 64 << 10

// CAAttester gets evidence from Provider and exchanges it for a token at the
// rassh CA's token service (POST {CAURL}/v1/attest).
type CAAttester struct {
	Provider   Provider
	CAURL      string       // for example "https://ca.example.com"
	HTTPClient *http.Client // nil: http.DefaultClient
}

// Attest implements Attester.
func (a *CAAttester) Attest(ctx context.Context, v binding.Value) (string, error) {
	ev, err := a.Provider.Evidence(ctx, v)
	if err != nil {
		return "", fmt.Errorf("attest: evidence: %w", err)
	}
	body, err := json.Marshal(wire.AttestRequest{Evidence: ev})
	if err != nil {
		return "", fmt.Errorf("attest: %w", err)
	}
	url := strings.TrimSuffix(a.CAURL, "/") + "/v1/attest"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("attest: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")

	client := a.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("attest: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAttestResponse+1))
	if err != nil {
		return "", fmt.Errorf("attest: read response of %s: %w", url, err)
	}
	if len(data) > maxAttestResponse {
		return "", fmt.Errorf("attest: response of %s exceeds %d bytes", url, maxAttestResponse)
	}
	return parseAttestAnswer(url, resp.StatusCode, data)
}

func parseAttestAnswer(url string, status int, data []byte) (string, error) {
	if status != http.StatusOK {
		var e wire.Error
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return "", fmt.Errorf("attest: %s returned %d (%s): %s", url, status, e.Code, e.Error)
		}
		return "", fmt.Errorf("attest: %s returned %d", url, status)
	}
	var ans wire.AttestResponse
	if err := json.Unmarshal(data, &ans); err != nil {
		return "", fmt.Errorf("attest: invalid response of %s: %w", url, err)
	}
	if ans.Token == "" {
		return "", fmt.Errorf("attest: response of %s has no token", url)
	}
	return ans.Token, nil
}

// MAAClient is the part of the MAA client (package verifier/maa) that
// MAAAttester uses: it sends evidence to MAA and returns the checked token.
type MAAClient interface {
	Attest(ctx context.Context, ev verifier.Evidence) (string, *verifier.Claims, error)
}

// MAAAttester gets evidence from Provider and exchanges it for a token at
// Microsoft Azure Attestation.
type MAAAttester struct {
	Provider Provider
	Client   MAAClient
}

// Attest implements Attester.
func (a *MAAAttester) Attest(ctx context.Context, v binding.Value) (string, error) {
	ev, err := a.Provider.Evidence(ctx, v)
	if err != nil {
		return "", fmt.Errorf("attest: evidence: %w", err)
	}
	token, _, err := a.Client.Attest(ctx, ev)
	if err != nil {
		return "", fmt.Errorf("attest: %w", err)
	}
	return token, nil
}
