package token

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/rassh/rassh/verifier"
)

// maxKeySetSize bounds a fetched key set. MAA's /certs was 20 KiB in 2022.
const maxKeySetSize = 1 << 20

// issuerState is one pinned issuer and its cached key set.
type issuerState struct {
	config IssuerConfig

	mu          sync.Mutex
	keys        map[string]publicKey
	fetchedAt   time.Time // when keys were fetched; zero before the first fetch
	lastAttempt time.Time // when a fetch last started, successful or not
	diskLoaded  bool
}

func (s *issuerState) allowsAlg(alg string) bool {
	return slices.Contains(s.config.Algorithms, alg)
}

// key returns the key named kid. It fetches the key set when none is cached
// or the cached one is older than the key-set lifetime. For an unknown kid it
// fetches the set again at most once per refetch interval, so tokens with
// made-up kids cannot make the verifier flood the issuer with requests.
func (s *issuerState) key(ctx context.Context, v *Verifier, kid string, now time.Time) (publicKey, error) {
	if kid == "" {
		return publicKey{}, verifier.Reject(CheckKid, "verify token: no kid in the header")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.diskLoaded {
		s.diskLoaded = true
		s.loadFromDisk(v)
	}

	if s.isFresh(v, now) {
		if key, ok := s.keys[kid]; ok {
			return key, nil
		}
	}
	if s.refetchLimited(v, now) {
		return publicKey{}, s.notFetched(v, kid)
	}
	if err := s.fetch(ctx, v, now); err != nil {
		return publicKey{}, err
	}
	if key, ok := s.keys[kid]; ok {
		return key, nil
	}
	return publicKey{}, verifier.Reject(CheckKid, "verify token: kid %q is not in the key set of issuer %q", truncate(kid), s.config.Issuer)
}

// isFresh reports whether the cached key set may be used at now. A fetch
// time in the future (a cache file from a skewed clock) counts as stale.
func (s *issuerState) isFresh(v *Verifier, now time.Time) bool {
	if s.keys == nil || s.fetchedAt.After(now.Add(v.leeway())) {
		return false
	}
	return now.Sub(s.fetchedAt) < v.keySetLifetime()
}

// refetchLimited reports whether a fetch started less than the refetch
// interval before now.
func (s *issuerState) refetchLimited(v *Verifier, now time.Time) bool {
	if s.lastAttempt.IsZero() {
		return false
	}
	elapsed := now.Sub(s.lastAttempt)
	return elapsed >= 0 && elapsed < v.refetchEvery()
}

// notFetched explains why no key was found while a refetch is not yet
// allowed.
func (s *issuerState) notFetched(v *Verifier, kid string) error {
	next := s.lastAttempt.Add(v.refetchEvery()).UTC().Format(time.RFC3339)
	if s.keys == nil || !s.fetchedAt.Equal(s.lastAttempt) {
		return &verifier.UndecidedError{Op: "fetch key set", Err: fmt.Errorf("key set of issuer %q could not be fetched; next attempt after %s", s.config.Issuer, next)}
	}
	return verifier.Reject(CheckKid, "verify token: kid %q is not in the key set of issuer %q (next refetch after %s)", truncate(kid), s.config.Issuer, next)
}

func (s *issuerState) fetch(ctx context.Context, v *Verifier, now time.Time) error {
	s.lastAttempt = now
	data, err := fetchKeySet(ctx, v.httpClient(), s.config.JWKSURL)
	if err != nil {
		return &verifier.UndecidedError{Op: "fetch key set", Err: fmt.Errorf("issuer %q: %w", s.config.Issuer, err)}
	}
	keys, err := parseKeySet(data)
	if err != nil {
		return &verifier.UndecidedError{Op: "fetch key set", Err: fmt.Errorf("issuer %q: %s: %w", s.config.Issuer, s.config.JWKSURL, err)}
	}
	s.keys = keys
	s.fetchedAt = now
	s.saveToDisk(v, data)
	return nil
}

var errRedirect = errors.New("redirects are not followed for a pinned key set")

func (v *Verifier) httpClient() *http.Client {
	client := http.Client{Timeout: DefaultFetchTimeout}
	if v.HTTPClient != nil {
		client = *v.HTTPClient
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return errRedirect }
	return &client
}

func fetchKeySet(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, DefaultFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")

	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP status %d", url, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxKeySetSize+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if len(data) > maxKeySetSize {
		return nil, fmt.Errorf("GET %s: key set is larger than %d bytes", url, maxKeySetSize)
	}
	return data, nil
}
