package ca

import (
	"fmt"
	"slices"
	"strings"
)

// MaxPrincipals bounds the principals of one certificate, registration or
// join token.
const MaxPrincipals = 64

// ValidatePrincipal checks that p is a host name or address usable as a
// certificate principal: 1 to 253 characters of lower-case letters, digits
// and "-._:", so never empty, never a wildcard or a pattern list. Host names
// are case-insensitive, so an upper-case spelling would let a second identity
// hold the same host under another key of the principal index.
func ValidatePrincipal(p string) error {
	if p == "" || len(p) > 253 {
		return fmt.Errorf("invalid principal %q: length must be 1 to 253 characters", p)
	}
	for _, r := range p {
		if r >= 'A' && r <= 'Z' {
			return fmt.Errorf("invalid principal %q: upper-case character %q not allowed (write host names in lower case)", p, r)
		}
		if !isHostChar(r) {
			return fmt.Errorf("invalid principal %q: character %q not allowed (only letters, digits and -._:)", p, r)
		}
	}
	return nil
}

// ValidatePrincipals checks a principal list: 1 to MaxPrincipals valid,
// distinct principals.
func ValidatePrincipals(ps []string) error {
	if len(ps) == 0 {
		return fmt.Errorf("invalid principals: the list is empty")
	}
	if len(ps) > MaxPrincipals {
		return fmt.Errorf("invalid principals: %d given, at most %d allowed", len(ps), MaxPrincipals)
	}
	for i, p := range ps {
		if err := ValidatePrincipal(p); err != nil {
			return err
		}
		if slices.Contains(ps[:i], p) {
			return fmt.Errorf("invalid principals: %q given twice", p)
		}
	}
	return nil
}

// ValidatePattern checks a host pattern: host characters plus the wildcards
// * and ?, with at least one character that is neither a wildcard nor a dot,
// so "*" and "*.*" are rejected. Brackets are allowed for the "[host]:port"
// form of known_hosts.
func ValidatePattern(p string) error {
	if p == "" || len(p) > 253 {
		return fmt.Errorf("invalid host pattern %q: length must be 1 to 253 characters", p)
	}
	literal := false
	for _, r := range p {
		switch {
		case r == '*' || r == '?' || r == '.':
		case r == '[' || r == ']':
		case isHostChar(r):
			literal = true
		default:
			return fmt.Errorf("invalid host pattern %q: character %q not allowed", p, r)
		}
	}
	if !literal {
		return fmt.Errorf("invalid host pattern %q: matches every host; name a domain such as *.example.com", p)
	}
	return nil
}

// MatchPattern reports whether name matches the known_hosts-style glob
// pattern, where * matches any run of characters (dots included) and ? one
// character, ignoring case.
func MatchPattern(pattern, name string) bool {
	return matchGlob(strings.ToLower(pattern), strings.ToLower(name))
}

// matchGlob matches in time O(len(p)*len(s)): on a mismatch it only retries
// from the most recent star, consuming one more character of s.
func matchGlob(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			mark++
			pi, si = star+1, mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

func isHostChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '-' || r == '.' || r == '_' || r == ':'
}

// derivePrincipals returns the principals to certify: the requested ones, or
// all granted when none are requested, each matching a host pattern. A
// requested principal outside the grant or the patterns is an error; a
// granted one outside the patterns is dropped.
func derivePrincipals(granted, requested, patterns []string) ([]string, error) {
	if len(requested) > 0 {
		for _, p := range requested {
			if !slices.Contains(granted, p) {
				return nil, fmt.Errorf("principal %q is not granted to this host", p)
			}
			if !matchesAny(patterns, p) {
				return nil, fmt.Errorf("principal %q matches no configured host pattern", p)
			}
		}
		return sorted(requested), nil
	}
	var out []string
	for _, p := range granted {
		if matchesAny(patterns, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("none of the granted principals %q matches a configured host pattern", granted)
	}
	return sorted(out), nil
}

func matchesAny(patterns []string, name string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if MatchPattern(p, name) {
			return true
		}
	}
	return false
}

func sorted(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return out
}
