package client

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/internal/boundedfile"
)

// Known_hosts markers.
const (
	markerCertAuthority = "cert-authority"
	markerRevoked       = "revoked"
)

// MaxKnownHostsSize bounds a known_hosts file.
const MaxKnownHostsSize = 16 << 20

// KnownHosts is the content of OpenSSH known_hosts files: plain host keys,
// @cert-authority lines and @revoked lines, with host patterns (wildcards,
// negation, [host]:port and hashed names) matched as sshd(8) describes.
type KnownHosts struct {
	entries []knownHostsEntry
}

type knownHostsEntry struct {
	marker   string
	patterns []string
	key      ssh.PublicKey
}

// LoadKnownHosts reads and parses the files. A missing file counts as empty,
// as it does for ssh.
func LoadKnownHosts(paths ...string) (*KnownHosts, error) {
	kh := &KnownHosts{}
	for _, p := range paths {
		data, err := boundedfile.Read(p, MaxKnownHostsSize)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("load known_hosts: %w", err)
		}
		parsed, err := ParseKnownHosts(data)
		if err != nil {
			return nil, fmt.Errorf("load known_hosts %s: %w", p, err)
		}
		kh.entries = append(kh.entries, parsed.entries...)
	}
	return kh, nil
}

// ParseKnownHosts parses known_hosts content. Lines with an unknown key type
// are skipped as ssh skips them; any other malformed line is an error, because
// a silently dropped @revoked line would weaken the check.
func ParseKnownHosts(data []byte) (*KnownHosts, error) {
	kh := &KnownHosts{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), MaxKnownHostsSize)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		marker, hosts, key, _, _, err := ssh.ParseKnownHosts(line)
		if err != nil {
			if isUnknownKeyType(err) {
				continue
			}
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		kh.entries = append(kh.entries, knownHostsEntry{marker: marker, patterns: hosts, key: key})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return kh, nil
}

func isUnknownKeyType(err error) bool {
	return strings.Contains(err.Error(), "unknown key algorithm")
}

// KnownHostsName returns the name under which known_hosts lists a host
// reached at address ("host:port"): the host alone for port 22, else
// "[host]:port".
func KnownHostsName(address string) string {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return strings.ToLower(address)
	}
	host = strings.ToLower(host)
	if port == "22" {
		return host
	}
	return "[" + host + "]:" + port
}

// IsHostAuthority reports whether auth is a @cert-authority key for the host
// at address. It has the signature of ssh.CertChecker.IsHostAuthority.
func (kh *KnownHosts) IsHostAuthority(auth ssh.PublicKey, address string) bool {
	return kh.match(markerCertAuthority, auth, KnownHostsName(address))
}

// HasHostKey reports whether key is listed as a plain host key for the host
// at address.
func (kh *KnownHosts) HasHostKey(key ssh.PublicKey, address string) bool {
	return kh.match("", key, KnownHostsName(address))
}

// IsRevoked reports whether key is listed on an @revoked line.
func (kh *KnownHosts) IsRevoked(key ssh.PublicKey) bool {
	blob := key.Marshal()
	for _, e := range kh.entries {
		if e.marker == markerRevoked && bytes.Equal(e.key.Marshal(), blob) {
			return true
		}
	}
	return false
}

func (kh *KnownHosts) match(marker string, key ssh.PublicKey, name string) bool {
	blob := key.Marshal()
	for _, e := range kh.entries {
		if e.marker == marker && bytes.Equal(e.key.Marshal(), blob) && matchHostPatterns(e.patterns, name) {
			return true
		}
	}
	return false
}

// matchHostPatterns applies a known_hosts pattern list to name: a matching
// negated pattern ("!pattern") rejects, otherwise any matching pattern
// accepts.
func matchHostPatterns(patterns []string, name string) bool {
	matched := false
	for _, p := range patterns {
		negated := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		if !matchHostPattern(p, name) {
			continue
		}
		if negated {
			return false
		}
		matched = true
	}
	return matched
}

func matchHostPattern(pattern, name string) bool {
	if strings.HasPrefix(pattern, "|1|") {
		return matchHashedHost(pattern, name)
	}
	// path.Match has the * and ? semantics of OpenSSH's match_pattern, and no
	// host name contains '/', so path separators never matter. Brackets are
	// escaped because "[host]:port" is literal in known_hosts.
	escaped := strings.NewReplacer("[", `\[`, "]", `\]`, `\`, `\\`).Replace(strings.ToLower(pattern))
	ok, err := path.Match(escaped, name)
	return err == nil && ok
}

// matchHashedHost matches a HashKnownHosts entry: "|1|" base64(salt) "|"
// base64(HMAC-SHA1(salt, name)).
func matchHashedHost(pattern, name string) bool {
	parts := strings.Split(pattern[3:], "|")
	if len(parts) != 2 {
		return false
	}
	salt, err1 := base64.StdEncoding.DecodeString(parts[0])
	want, err2 := base64.StdEncoding.DecodeString(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	mac := hmac.New(sha1.New, salt)
	mac.Write([]byte(name))
	return hmac.Equal(mac.Sum(nil), want)
}
