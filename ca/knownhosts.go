package ca

import (
	"strings"

	"golang.org/x/crypto/ssh"
)

// KnownHostsLine returns the known_hosts line that trusts caKey for hosts
// matching patterns: "@cert-authority <patterns> <key>".
func KnownHostsLine(patterns []string, caKey ssh.PublicKey) string {
	return "@cert-authority " + strings.Join(patterns, ",") + " " + authorizedLine(caKey)
}

// AuthorizedLine renders a key or certificate as one authorized_keys line
// without the trailing newline.
func AuthorizedLine(k ssh.PublicKey) string { return authorizedLine(k) }
