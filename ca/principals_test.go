package ca

import (
	"slices"
	"testing"
)

func TestValidatePrincipal(t *testing.T) {
	for _, tc := range []struct {
		p  string
		ok bool
	}{
		{"host1.example.com", true},
		{"10.0.0.1", true},
		{"fe80::1", true},
		{"", false},
		{"*", false},
		{"*.example.com", false},
		{"host?.example.com", false},
		{"a,b", false},
		{"a b", false},
		{"!host", false},
		{string(make([]byte, 254)), false},
		{"WEB1.example.com", false},
		{"FE80::1", false},
	} {
		if err := ValidatePrincipal(tc.p); (err == nil) != tc.ok {
			t.Errorf("ValidatePrincipal(%q) = %v, want ok %v", tc.p, err, tc.ok)
		}
	}
}

// An upper-case spelling of a principal would be a second key in the
// principal index, so another identity could hold a name that is the same
// host as one already bound.
func TestValidatePrincipalRejectsUpperCase(t *testing.T) {
	err := ValidatePrincipals([]string{"web1.example.com", "Web1.example.com"})
	want := `invalid principal "Web1.example.com": upper-case character 'W' not allowed (write host names in lower case)`
	if err == nil || err.Error() != want {
		t.Errorf("ValidatePrincipals = %v, want %q", err, want)
	}
}

func TestValidatePattern(t *testing.T) {
	for _, tc := range []struct {
		p  string
		ok bool
	}{
		{"*.example.com", true},
		{"host?.example.com", true},
		{"[*.example.com]:*", true},
		{"*", false},
		{"*.*", false},
		{"?", false},
		{"", false},
		{"!*.example.com", false},
		{"a,b", false},
	} {
		if err := ValidatePattern(tc.p); (err == nil) != tc.ok {
			t.Errorf("ValidatePattern(%q) = %v, want ok %v", tc.p, err, tc.ok)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		match         bool
	}{
		{"*.example.com", "host1.example.com", true},
		{"*.example.com", "a.b.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "host1.example.com.evil", false},
		{"*.Example.COM", "HOST.example.com", true},
		{"host?.example.com", "host1.example.com", true},
		{"host?.example.com", "host12.example.com", false},
		{"*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	} {
		if got := MatchPattern(tc.pattern, tc.name); got != tc.match {
			t.Errorf("MatchPattern(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.match)
		}
	}
}

func TestDerivePrincipals(t *testing.T) {
	granted := []string{"b.example.com", "a.example.com", "c.other.org"}
	patterns := []string{"*.example.com"}
	for _, tc := range []struct {
		name      string
		requested []string
		patterns  []string
		want      []string
		err       string
	}{
		{"all granted, narrowed", nil, patterns, []string{"a.example.com", "b.example.com"}, ""},
		{"no patterns", nil, nil, []string{"a.example.com", "b.example.com", "c.other.org"}, ""},
		{"subset", []string{"b.example.com"}, patterns, []string{"b.example.com"}, ""},
		{"not granted", []string{"d.example.com"}, patterns, nil, `principal "d.example.com" is not granted to this host`},
		{"granted outside patterns", []string{"c.other.org"}, patterns, nil, `principal "c.other.org" matches no configured host pattern`},
		{"nothing left", nil, []string{"*.none.net"}, nil, `none of the granted principals ["b.example.com" "a.example.com" "c.other.org"] matches a configured host pattern`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := derivePrincipals(granted, tc.requested, tc.patterns)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
