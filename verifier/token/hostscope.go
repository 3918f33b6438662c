package token

import "strings"

// matchHost reports whether host matches patterns the way ssh_config's Host
// lists match (ssh_config(5), PATTERNS). Matching is case-insensitive, "*"
// matches any run of characters and "?" one character. A pattern prefixed
// with "!" excludes the hosts it matches, even when another pattern includes
// them. A trailing dot on host is ignored.
func matchHost(patterns []string, host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	matched := false
	for _, pattern := range patterns {
		negated := strings.HasPrefix(pattern, "!")
		pattern = strings.ToLower(strings.TrimPrefix(pattern, "!"))
		if !matchGlob(pattern, host) {
			continue
		}
		if negated {
			return false
		}
		matched = true
	}
	return matched
}

// matchGlob matches s against a pattern of literal bytes, "*" and "?", with
// backtracking to the last "*" only, so it runs in O(len(pattern)*len(s)).
func matchGlob(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
