package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/rassh/rassh/internal/ratelimit"
)

// Defaults of the per-source limits. A source is an IPv4 address or an IPv6
// /64 prefix.
const (
	// DefaultChallengeRatePerSource and DefaultChallengeBurstPerSource let
	// one source hold about 20 + 0.2 * 300 = 80 challenges at the default
	// TTL of 5 minutes, so about 125 sources are needed to take all
	// store.MaxPendingChallenges.
	DefaultChallengeRatePerSource  = 0.2 // challenges per second
	DefaultChallengeBurstPerSource = 20
	// DefaultMaxSources bounds the sources whose buckets are kept in memory.
	DefaultMaxSources = 10000

	// Failed admin authentications: each one is an audit event, so a source
	// that fails more often than this gets 429 without an event.
	adminFailureRate  = 0.1 // failures per second
	adminFailureBurst = 10
	// adminFailureAllRate and adminFailureAllBurst bound the failures of all
	// sources together, so that a client with many addresses (an IPv6 /48
	// has 65536 /64s) cannot grow the audit log at will either.
	adminFailureAllRate  = 1.0 // failures per second
	adminFailureAllBurst = 100

	codeRateLimited = "rate_limited"
)

// limiters are the per-source token buckets of the server.
type limiters struct {
	challenges      *ratelimit.Keyed
	adminFailure    *ratelimit.Keyed
	adminFailureAll *ratelimit.Bucket
}

func (s *Server) newLimiters() *limiters {
	rate, burst, maxSources := s.ChallengeRatePerSource, s.ChallengeBurstPerSource, s.MaxSources
	if rate == 0 {
		rate = DefaultChallengeRatePerSource
	}
	if burst == 0 {
		burst = DefaultChallengeBurstPerSource
	}
	if maxSources == 0 {
		maxSources = DefaultMaxSources
	}
	return &limiters{
		challenges:      ratelimit.NewKeyed(rate, burst, maxSources),
		adminFailure:    ratelimit.NewKeyed(adminFailureRate, adminFailureBurst, maxSources),
		adminFailureAll: ratelimit.NewBucket(adminFailureAllRate, adminFailureAllBurst),
	}
}

// rejectRateLimited writes 429 with Retry-After for a source that sent too
// many requests of one kind, such as "challenges", and counts it under the
// limit of that name.
func (s *Server) rejectRateLimited(w http.ResponseWriter, r *http.Request, kind string, wait time.Duration) {
	s.writeRateLimited(w, r, kind, kind+" from this address", wait)
}

// writeRateLimited writes 429 with Retry-After and counts it under limit.
// Its log line is at debug level, so that a flood of requests does not flood
// the log too.
func (s *Server) writeRateLimited(w http.ResponseWriter, r *http.Request, limit, subject string, wait time.Duration) {
	seconds := ratelimit.RetryAfter(wait)
	s.metrics.add("rassh_rate_limited_total", 1, "limit", limit)
	requestAttrs(r).setQuiet()
	w.Header().Set("Retry-After", seconds)
	unit := "seconds"
	if seconds == "1" {
		unit = "second"
	}
	msg := fmt.Sprintf("too many %s: retry after %s %s", subject, seconds, unit)
	s.fail(w, r, http.StatusTooManyRequests, codeRateLimited, msg, nil)
}
