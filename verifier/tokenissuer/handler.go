package tokenissuer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/internal/ratelimit"
	"github.com/rassh/rassh/verifier"
)

// EvidenceVerifier verifies evidence into claims; in the CA it is the local
// backend (verifier/local).
type EvidenceVerifier interface {
	Verify(ctx context.Context, ev verifier.Evidence) (*verifier.Claims, error)
}

// Defaults for the zero values of HandlerOptions.
const (
	DefaultRate           = 2.0 // requests per second, all sources together
	DefaultBurst          = 10
	DefaultRatePerSource  = 0.5 // requests per second from one source
	DefaultBurstPerSource = 5
	DefaultMaxSources     = 10000
	DefaultMaxBodySize    = 256 << 10
)

// HandlerOptions configures the token service's HTTP handler.
type HandlerOptions struct {
	// AllowSimulated issues tokens for simulated TDs (Claims.Simulated). Off
	// by default; only development and demo setups turn it on.
	AllowSimulated bool
	// Rate is how many attest requests per second the service accepts, for
	// all clients together. Zero means DefaultRate.
	Rate float64
	// Burst is how many attest requests may come at once. Zero means
	// DefaultBurst.
	Burst int
	// RatePerSource and BurstPerSource limit one source address (an IPv4
	// address or an IPv6 /64) in the same way, so that one client cannot take
	// all of Rate. Zero means DefaultRatePerSource and DefaultBurstPerSource.
	RatePerSource  float64
	BurstPerSource int
	// MaxSources bounds the source addresses whose limits are kept in
	// memory; the least recently seen is dropped beyond it. Zero means
	// DefaultMaxSources.
	MaxSources int
	// MaxBodySize bounds the request body in bytes. Zero means
	// DefaultMaxBodySize.
	MaxBodySize int64
	// Logger gets one line per attest request. Nil means slog.Default().
	Logger *slog.Logger
}

type handler struct {
	issuer      *Issuer
	evidence    EvidenceVerifier
	opts        HandlerOptions
	limit       *ratelimit.Bucket
	limitSource *ratelimit.Keyed
	log         *slog.Logger
}

// Handler serves POST /v1/attest, GET /v1/jwks and GET
// /.well-known/openid-configuration.
func (i *Issuer) Handler(ev EvidenceVerifier, opts HandlerOptions) http.Handler {
	if opts.Rate <= 0 {
		opts.Rate = DefaultRate
	}
	if opts.Burst <= 0 {
		opts.Burst = DefaultBurst
	}
	if opts.RatePerSource <= 0 {
		opts.RatePerSource = DefaultRatePerSource
	}
	if opts.BurstPerSource <= 0 {
		opts.BurstPerSource = DefaultBurstPerSource
	}
	if opts.MaxSources <= 0 {
		opts.MaxSources = DefaultMaxSources
	}
	if opts.MaxBodySize <= 0 {
		opts.MaxBodySize = DefaultMaxBodySize
	}
	h := &handler{issuer: i, evidence: ev, opts: opts, log: opts.Logger}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.limit = ratelimit.NewBucket(opts.Rate, opts.Burst)
	h.limitSource = ratelimit.NewKeyed(opts.RatePerSource, opts.BurstPerSource, opts.MaxSources)

	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/attest", h.attest)
	mux.HandleFunc("GET /v1/jwks", h.jwks)
	mux.HandleFunc("GET /.well-known/openid-configuration", h.openIDConfiguration)
	return mux
}

func (i *Issuer) now() time.Time {
	if i.Now != nil {
		return i.Now()
	}
	return time.Now()
}

func (h *handler) jwks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.issuer.KeySet())
}

func (h *handler) openIDConfiguration(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                h.issuer.URL,
		"jwks_uri":                              h.issuer.URL + "/v1/jwks",
		"response_types_supported":              []string{"token"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"claims_supported":                      []string{"iss", "iat", "nbf", "exp", "jti", "rassh"},
	})
}

// attest verifies the posted evidence and responds with a token. Each
// step's failure has its own status and code, and the cause goes only to the
// log.
func (h *handler) attest(w http.ResponseWriter, r *http.Request) {
	started := time.Now()
	log := h.log.With("remote", r.RemoteAddr)

	// The source's own bucket comes first, so that requests it rejects
	// take nothing from the bucket that all sources share.
	now := h.issuer.now()
	if ok, wait := h.limitSource.Take(ratelimit.SourceKey(r.RemoteAddr), now); !ok {
		h.rejectRateLimited(w, log, "too many attest requests from this address; retry later", wait)
		return
	}
	if ok, wait := h.limit.Take(now); !ok {
		h.rejectRateLimited(w, log, "too many attest requests; retry later", wait)
		return
	}

	req, status, err := h.readRequest(w, r)
	if err != nil {
		code := "invalid_request"
		if status == http.StatusRequestEntityTooLarge {
			code = "body_too_large"
		}
		h.fail(w, log, status, code, err.Error(), err)
		return
	}

	claims, err := h.evidence.Verify(r.Context(), req.Evidence)
	if err != nil {
		h.failVerify(w, log, err)
		return
	}
	if claims.Simulated && !h.opts.AllowSimulated {
		h.fail(w, log, http.StatusForbidden, "simulated_evidence", "evidence from a simulated TD is not accepted", nil)
		return
	}

	raw, err := h.issuer.Issue(claims)
	if err != nil {
		h.fail(w, log, http.StatusInternalServerError, "internal", "internal error", err)
		return
	}
	log.Info("attest", "status", http.StatusOK, "verifier", claims.Verifier, "simulated", claims.Simulated,
		"evidence_sha256", claims.EvidenceDigest.String(), "duration", time.Since(started))
	writeJSON(w, http.StatusOK, wire.AttestResponse{Token: raw})
}

// rejectRateLimited writes 429 with Retry-After. It logs at debug level
// only, so that a flood of requests does not flood the log too.
func (h *handler) rejectRateLimited(w http.ResponseWriter, log *slog.Logger, message string, wait time.Duration) {
	log.Debug("attest", "status", http.StatusTooManyRequests, "code", "rate_limited")
	w.Header().Set("Retry-After", ratelimit.RetryAfter(wait))
	writeJSON(w, http.StatusTooManyRequests, wire.Error{Error: message, Code: "rate_limited"})
}

// readRequest decodes the body strictly: bounded, no unknown fields, one
// JSON value.
func (h *handler) readRequest(w http.ResponseWriter, r *http.Request) (*wire.AttestRequest, int, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodySize))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, http.StatusRequestEntityTooLarge, errors.New("request body is larger than " + strconv.FormatInt(h.opts.MaxBodySize, 10) + " bytes")
		}
		return nil, http.StatusBadRequest, errors.New("could not read the request body")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req wire.AttestRequest
	if err := dec.Decode(&req); err != nil {
		return nil, http.StatusBadRequest, errors.New("invalid request JSON: " + err.Error())
	}
	if dec.More() {
		return nil, http.StatusBadRequest, errors.New("invalid request JSON: data after the object")
	}
	if err := checkEvidenceShape(req.Evidence); err != nil {
		return nil, http.StatusBadRequest, err
	}
	return &req, 0, nil
}

// checkEvidenceShape rejects a request whose evidence is missing or of an
// unknown kind before the verifier sees it, so the client learns which
// field is wrong.
func checkEvidenceShape(ev verifier.Evidence) error {
	switch {
	case ev.Kind == "" && len(ev.Quote) == 0:
		return errors.New(`missing field "evidence"`)
	case ev.Kind != verifier.EvidenceTDXQuote && ev.Kind != verifier.EvidenceAzureTDX:
		return fmt.Errorf(`invalid evidence.kind %q, expected %q or %q`, ev.Kind, verifier.EvidenceTDXQuote, verifier.EvidenceAzureTDX)
	case len(ev.Quote) == 0:
		return errors.New(`missing field "evidence.quote"`)
	}
	return nil
}

func (h *handler) failVerify(w http.ResponseWriter, log *slog.Logger, err error) {
	var rejected *verifier.RejectedError
	var policy *verifier.PolicyError
	switch {
	case errors.As(err, &rejected):
		h.fail(w, log, http.StatusUnprocessableEntity, "evidence_rejected", "evidence rejected: "+rejected.Check, err)
	case errors.As(err, &policy):
		h.fail(w, log, http.StatusForbidden, "policy_rejected", "evidence does not meet the policy: "+policy.Rule, err)
	case verifier.IsUndecided(err):
		h.fail(w, log, http.StatusServiceUnavailable, "undecided", "the evidence could not be verified now; retry later", err)
	default:
		h.fail(w, log, http.StatusInternalServerError, "internal", "internal error", err)
	}
}

func (h *handler) fail(w http.ResponseWriter, log *slog.Logger, status int, code, message string, cause error) {
	attrs := []any{"status", status, "code", code}
	if cause != nil {
		attrs = append(attrs, "error", cause.Error())
	}
	log.Warn("attest", attrs...)
	writeJSON(w, status, wire.Error{Error: message, Code: code})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}
