package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// Targets of the wall-time comparison.
const (
	maxEpochOverhead = 5 * time.Millisecond // epoch over mode off
	maxFreshOverhead = 5 * time.Millisecond // fresh over mode off and the token source
)

// Names of the variants the derived numbers compare.
const (
	nameOff      = "rassh, mode off"
	nameEpoch    = "rassh, epoch"
	nameFresh    = "rassh, fresh"
	nameSSHCurve = "ssh, curve25519-sha256"
)

// report is everything one run prints.
type report struct {
	Started       time.Time
	Runs, Warmup  int
	Variants      []variant
	Times         map[string][]time.Duration
	Latency       *attestLatency
	Verified      []string
	FreshRuns     int // fresh connections made while counting tokens
	Tokens        int // POST /v1/attest requests the CA logged during the timed variants
	KeySetFetches int // GET /v1/jwks requests it logged during the timed variants
}

func printReport(r report) {
	med := make(map[string]time.Duration, len(r.Times))
	for name, samples := range r.Times {
		med[name] = summarize(samples).Median
	}

	fmt.Printf("Run started %s; %d timed runs per variant after %d warm-up rounds, variants interleaved.\n\n",
		r.Started.UTC().Format(time.RFC3339), r.Runs, r.Warmup)
	fmt.Println("| variant | median ms | p25 ms | p75 ms | min ms | ÷ ssh curve25519 | ÷ rassh off |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, v := range r.Variants {
		s := summarize(r.Times[v.Name])
		fmt.Printf("| %s | %s | %s | %s | %s | %.2f | %.2f |\n", v.Name, ms(s.Median), ms(s.P25), ms(s.P75), ms(s.Min),
			ratio(s.Median, med[nameSSHCurve]), ratio(s.Median, med[nameOff]))
	}

	fmt.Println()
	l := r.Latency
	fmt.Printf("Token source, called directly (median of %d; p25-p75): quote %s ms (%s-%s); quote + POST /v1/attest + token %s ms (%s-%s), "+
		"of which the CA logged %s ms (%s-%s) inside its handler.\n\n",
		l.RoundTrip.N, ms(l.Quote.Median), ms(l.Quote.P25), ms(l.Quote.P75),
		ms(l.RoundTrip.Median), ms(l.RoundTrip.P25), ms(l.RoundTrip.P75), ms(l.Server.Median), ms(l.Server.P25), ms(l.Server.P75))

	epochOver := med[nameEpoch] - med[nameOff]
	freshOver := med[nameFresh] - med[nameOff] - l.RoundTrip.Median
	fmt.Printf("Paired per round (median of the %d per-round differences, which cancels load drift between rounds): "+
		"epoch − off %s ms, fresh − off %s ms, epoch − ssh curve25519 %s ms.\n\n", r.Runs,
		ms(pairedMedian(r.Times[nameEpoch], r.Times[nameOff])), ms(pairedMedian(r.Times[nameFresh], r.Times[nameOff])),
		ms(pairedMedian(r.Times[nameEpoch], r.Times[nameSSHCurve])))
	fmt.Println("| check | value | target | met |")
	fmt.Println("| --- | ---: | ---: | --- |")
	fmt.Printf("| epoch − off | %s ms | ≤ %s ms | %s |\n", ms(epochOver), ms(maxEpochOverhead), yes(epochOver <= maxEpochOverhead))
	fmt.Printf("| epoch ÷ ssh curve25519 | %.2f | ≤ 1.00 | %s |\n", ratio(med[nameEpoch], med[nameSSHCurve]),
		yes(med[nameEpoch] <= med[nameSSHCurve]))
	fmt.Printf("| fresh − off − token source | %s ms | ≤ %s ms | %s |\n", ms(freshOver), ms(maxFreshOverhead), yes(freshOver <= maxFreshOverhead))

	fmt.Println()
	fmt.Printf("Transports (rassh verify before timing): %v.\n", r.Verified)
	fmt.Printf("During the timed variants the CA logged %d POST /v1/attest requests (%d fresh connections) and %d GET /v1/jwks.\n",
		r.Tokens, r.FreshRuns, r.KeySetFetches)
}

// pairedMedian returns the median of a[i] − b[i], where a[i] and b[i] ran
// in the same round.
func pairedMedian(a, b []time.Duration) time.Duration {
	diffs := make([]time.Duration, min(len(a), len(b)))
	for i := range diffs {
		diffs[i] = a[i] - b[i]
	}
	return summarize(diffs).Median
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

// output runs argv with SSH_AUTH_SOCK unset and returns its combined output.
func output(ctx context.Context, argv []string) (string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}
