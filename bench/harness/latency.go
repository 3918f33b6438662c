package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/rassh/rassh/enroll"
	"github.com/rassh/rassh/enroll/rasshd"
	"github.com/rassh/rassh/enroll/tee"
	"github.com/rassh/rassh/verifier/binding"
)

// attestLatency is the timing of the work that a fresh-mode response waits for.
type attestLatency struct {
	Quote     stats // one simulated quote over a binding value
	RoundTrip stats // one quote plus POST /v1/attest and its token
	Server    stats // the CA's own duration of POST /v1/attest, from its log
}

// measureAttest builds the agent's own token source as rassh-agent builds
// it: the simulated evidence provider and the CA attester with the pinned
// TLS client. It calls the source directly, warmup times untimed and then
// runs times timed, for the quote alone and for quote plus token.
func (tb *testbed) measureAttest(ctx context.Context, warmup, runs int) (*attestLatency, error) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	provider, err := enroll.NewProvider(enroll.ProviderConfig{Kind: enroll.ProviderSimulated,
		Simulated: &tee.SimulatedConfig{AuthorityDir: tb.SimDir}}, logger)
	if err != nil {
		return nil, err
	}
	httpClient, err := enroll.NewHTTPClient(enroll.TLSOptions{Fingerprint: tb.TLSPin})
	if err != nil {
		return nil, err
	}
	attester := &rasshd.CAAttester{Provider: provider, CAURL: tb.CAURL, HTTPClient: httpClient}

	var quote, roundTrip []time.Duration
	for i := 0; i < warmup+runs; i++ {
		var v binding.Value
		rand.Read(v[:])

		start := time.Now()
		if _, err := provider.Evidence(ctx, v); err != nil {
			return nil, fmt.Errorf("quote: %w", err)
		}
		q := time.Since(start)

		start = time.Now()
		if _, err := attester.Attest(ctx, v); err != nil {
			return nil, fmt.Errorf("quote and token: %w", err)
		}
		rt := time.Since(start)
		if i >= warmup {
			quote, roundTrip = append(quote, q), append(roundTrip, rt)
		}
	}
	return &attestLatency{Quote: summarize(quote), RoundTrip: summarize(roundTrip)}, nil
}
