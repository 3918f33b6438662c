package token

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// signatureAlgorithms are the algorithms an issuer may be configured with:
// asymmetric only, so "none" and HS256/HS384/HS512 can never be accepted.
var signatureAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"}

// Validate checks the issuer list: each issuer an absolute http(s) URL named
// once, a known kind, and only asymmetric algorithms (RS256 alone for MAA).
// Verify calls it once and returns its error on every call.
func (v *Verifier) Validate() error {
	return v.init()
}

func (v *Verifier) init() error {
	v.initOnce.Do(func() {
		v.issuers = make(map[string]*issuerState, len(v.Issuers))
		for _, config := range v.Issuers {
			state, err := newIssuerState(config)
			if err != nil {
				v.initErr = err
				return
			}
			if _, dup := v.issuers[config.Issuer]; dup {
				v.initErr = fmt.Errorf("token verifier: issuer %q is configured twice", config.Issuer)
				return
			}
			v.issuers[config.Issuer] = state
		}
	})
	return v.initErr
}

func newIssuerState(config IssuerConfig) (*issuerState, error) {
	if err := checkHTTPURL(config.Issuer); err != nil {
		return nil, fmt.Errorf("token verifier: issuer %q: %w", config.Issuer, err)
	}
	if config.JWKSURL == "" {
		config.JWKSURL = defaultJWKSURL(config)
	}
	if err := checkHTTPURL(config.JWKSURL); err != nil {
		return nil, fmt.Errorf("token verifier: issuer %q: key set URL %q: %w", config.Issuer, config.JWKSURL, err)
	}
	algs, err := issuerAlgorithms(config)
	if err != nil {
		return nil, fmt.Errorf("token verifier: issuer %q: %w", config.Issuer, err)
	}
	config.Algorithms = algs
	return &issuerState{config: config}, nil
}

func defaultJWKSURL(config IssuerConfig) string {
	base := strings.TrimSuffix(config.Issuer, "/")
	if config.Kind == KindRassh {
		return base + "/v1/jwks"
	}
	return base + "/certs"
}

func issuerAlgorithms(config IssuerConfig) ([]string, error) {
	switch config.Kind {
	case KindMAA:
		if len(config.Algorithms) == 0 || slices.Equal(config.Algorithms, []string{"RS256"}) {
			return []string{"RS256"}, nil
		}
		return nil, fmt.Errorf("kind %q allows only algorithm RS256, not %q", KindMAA, config.Algorithms)
	case KindRassh:
		if len(config.Algorithms) == 0 {
			return []string{"ES256", "EdDSA"}, nil
		}
		for _, alg := range config.Algorithms {
			if !slices.Contains(signatureAlgorithms, alg) {
				return nil, fmt.Errorf("algorithm %q is not allowed; use one of %q", alg, signatureAlgorithms)
			}
		}
		return config.Algorithms, nil
	}
	return nil, fmt.Errorf("unknown kind %q; use %q or %q", config.Kind, KindMAA, KindRassh)
}

func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("not an absolute http or https URL")
	}
	return nil
}
