// Package api is the CA's REST API: enrollment (challenges, enrollments, CA
// keys, the KRL), admin routes behind bearer tokens, and the operator
// endpoints /metrics, /healthz and /readyz. Request bodies are size-limited
// and unknown JSON fields are rejected. Every error is a JSON wire.Error with
// a public message, and the cause goes to the log. Each request produces one
// structured log line.
package api

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/ca"
	"github.com/rassh/rassh/store"
)

// Defaults of the Server's zero-valued fields.
const (
	DefaultChallengeTTL  = 5 * time.Minute
	DefaultMaxBodyBytes  = 256 << 10
	DefaultJoinTokenTTL  = time.Hour
	MaxJoinTokenTTL      = 30 * 24 * time.Hour
	defaultAuditPageSize = 1000
)

// Enroller runs an enrollment. *ca.Authority implements it.
type Enroller interface {
	Enroll(ctx context.Context, req *wire.EnrollmentRequest, source string) (*ca.Result, error)
}

// Store is the part of the store the API uses outside enrollment.
type Store interface {
	Check() error
	PutChallenge(nonce []byte, expiresAt time.Time) error
	AppendAudit(ev store.Event) (store.Event, error)
	AdminToken(digest []byte) (store.AdminToken, error)

	PutRegistration(r store.Registration) (unrevoked bool, err error)
	DeleteRegistration(identity string) error
	Registrations() ([]store.Registration, error)
	PutJoinToken(token string, t store.JoinToken) error
	JoinTokens() ([]store.JoinToken, error)
	Hosts() ([]store.Host, error)
	Certificates() ([]store.Certificate, error)
	Audit(after uint64, limit int) ([]store.Event, error)

	RevokeSerial(serial uint64, reason string, now time.Time, ev store.Event) error
	RevokeKey(blob []byte, line, reason string, now time.Time, ev store.Event) error
	RevokeIdentity(identity, reason string, now time.Time, keyBlob func(string) ([]byte, error), ev store.Event) (store.Host, error)
	Revocations() (serials, keys []store.Revocation, err error)
}

// Server serves the API.
type Server struct {
	Enroller Enroller
	Store    Store
	// CAKey is the CA's public key, served by GET /v1/ca and named in the KRL.
	CAKey ssh.PublicKey
	// HostPatterns are the patterns of the served "@cert-authority" line.
	HostPatterns []string

	// ChallengeTTL is how long a nonce may be used; zero means
	// DefaultChallengeTTL.
	ChallengeTTL time.Duration
	// MaxBodyBytes bounds request bodies; zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// ChallengeRatePerSource is how many challenges per second one source
	// address may get after its burst of ChallengeBurstPerSource; more get
	// 429. Zero means DefaultChallengeRatePerSource and
	// DefaultChallengeBurstPerSource.
	ChallengeRatePerSource  float64
	ChallengeBurstPerSource int
	// MaxSources bounds the source addresses whose rate limits are kept in
	// memory; zero means DefaultMaxSources.
	MaxSources int

	// TokenService, when set, serves POST /v1/attest, GET /v1/jwks and GET
	// /.well-known/openid-configuration (the CA's attestation token service).
	TokenService http.Handler

	// Logger receives one line per request; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of nonces and tokens; nil means crypto/rand.
	Rand io.Reader

	metrics  metrics
	limitsMu sync.Mutex
	limits   *limiters
}

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(s.logRequests)

	r.Get("/healthz", s.handleHealthz)
	r.Get("/readyz", s.handleReadyz)
	r.Get("/metrics", s.metrics.serve)

	r.Post("/v1/challenges", s.handleChallenge)
	r.Post("/v1/enrollments", s.handleEnroll)
	r.Get("/v1/ca", s.handleCA)
	r.Get("/v1/krl", s.handleKRL)

	if s.TokenService != nil {
		r.Handle("/v1/attest", s.TokenService)
		r.Handle("/v1/jwks", s.TokenService)
		r.Handle("/.well-known/openid-configuration", s.TokenService)
	}

	r.Group(func(r chi.Router) {
		r.Use(s.requireAdmin)
		r.Post("/v1/registrations", s.handleCreateRegistration)
		r.Get("/v1/registrations", s.handleListRegistrations)
		r.Delete("/v1/registrations/{identity}", s.handleDeleteRegistration)
		r.Post("/v1/join-tokens", s.handleCreateJoinToken)
		r.Get("/v1/join-tokens", s.handleListJoinTokens)
		r.Get("/v1/hosts", s.handleListHosts)
		r.Get("/v1/certificates", s.handleListCertificates)
		r.Get("/v1/audit", s.handleAudit)
		r.Post("/v1/revocations", s.handleRevoke)
	})

	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusNotFound, "not_found", "no such route", nil)
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed on this route", nil)
	})
	return r
}

// limiters returns the per-source limiters, creating them on first use.
func (s *Server) limiters() *limiters {
	s.limitsMu.Lock()
	defer s.limitsMu.Unlock()
	if s.limits == nil {
		s.limits = s.newLimiters()
	}
	return s.limits
}

func (s *Server) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Server) rand() io.Reader {
	if s.Rand == nil {
		return rand.Reader
	}
	return s.Rand
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

func (s *Server) challengeTTL() time.Duration {
	if s.ChallengeTTL == 0 {
		return DefaultChallengeTTL
	}
	return s.ChallengeTTL
}

func (s *Server) maxBodyBytes() int64 {
	if s.MaxBodyBytes == 0 {
		return DefaultMaxBodyBytes
	}
	return s.MaxBodyBytes
}
