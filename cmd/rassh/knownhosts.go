package main

import (
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
)

// runKnownHostsCommand serves ssh_config's KnownHostsCommand: ssh passes the
// host name it looks up (%H), and the type (%t) and base64 blob (%K) of the
// host key the server presented. rassh makes its own attested connection to
// the host and prints a known_hosts line for that key only when the key is
// the one its attested connection saw. It prints nothing otherwise, so ssh
// finds no key and, with StrictHostKeyChecking yes, refuses the host.
//
// This binds the check to the host key, not to ssh's session: the attested
// connection is rassh's own.
const knownHostsUsage = "in ssh_config: KnownHostsCommand /usr/local/bin/rassh known-hosts-command -l %r %H %t %K\n"

func runKnownHostsCommand(args []string) int {
	fs := flag.NewFlagSet("rassh known-hosts-command", flag.ContinueOnError)
	var common commonFlags
	common.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: rassh known-hosts-command [-p port] [-l user] [-i identity] [-F config] [-o name=value] HOST KEYTYPE KEY")
		os.Stderr.WriteString(knownHostsUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() != 3 {
		if err == nil {
			fs.Usage()
		}
		return exitUsage
	}
	name, keyType, keyBase64 := fs.Arg(0), fs.Arg(1), fs.Arg(2)

	// Before the key exchange, ssh 9.2 asks with %t and %K set to "NONE" to
	// learn which host key algorithms to prefer. No key is known then, so
	// rassh lists none, and ssh keeps its default order.
	if keyType == "NONE" && keyBase64 == "NONE" {
		return exitOK
	}
	presented, err := parsePresentedKey(keyType, keyBase64)
	if err != nil {
		fail("known-hosts-command: %v", err)
		return exitFailure
	}
	host, port := splitKnownHostsName(name)
	if port != "" {
		common.port = port
	}
	conn, err := connect(&common, host)
	if err != nil {
		fail("known-hosts-command: %v", err)
		return exitFailure
	}
	defer conn.Close()
	warnSkipped(conn)

	line, err := knownHostsLine(name, presented, conn.Host.Presented, conn.Host.Key)
	if err != nil {
		fail("known-hosts-command: %s: %v", name, err)
		return exitFailure
	}
	fmt.Print(line)
	return exitOK
}

func parsePresentedKey(keyType, keyBase64 string) (ssh.PublicKey, error) {
	blob, err := base64.StdEncoding.DecodeString(keyBase64)
	if err != nil {
		return nil, fmt.Errorf("invalid base64 host key: %w", err)
	}
	key, err := ssh.ParsePublicKey(blob)
	if err != nil {
		return nil, fmt.Errorf("invalid host key: %w", err)
	}
	if key.Type() != keyType {
		return nil, fmt.Errorf("host key type %q, but the key is %q", keyType, key.Type())
	}
	return key, nil
}

// splitKnownHostsName splits "[host]:port" into host and port; a plain host
// name has port "".
func splitKnownHostsName(name string) (string, string) {
	if strings.HasPrefix(name, "[") {
		if host, port, err := net.SplitHostPort(name); err == nil {
			return host, port
		}
	}
	return name, ""
}

// knownHostsLine returns the known_hosts line for the presented key when it
// is the key (or the certificate) that rassh's attested connection saw.
// For a certificate it lists the certified plain key: ssh 9.2 retries a
// certificate that no @cert-authority line covers as its plain key.
func knownHostsLine(name string, presented, attested, attestedPlain ssh.PublicKey) (string, error) {
	plain := presented
	if cert, ok := presented.(*ssh.Certificate); ok {
		if !bytes.Equal(presented.Marshal(), attested.Marshal()) {
			return "", fmt.Errorf("the presented certificate is not the one the attested connection saw")
		}
		plain = cert.Key
	}
	if !bytes.Equal(plain.Marshal(), attestedPlain.Marshal()) {
		return "", fmt.Errorf("presented %s key %s, but the attested connection saw %s",
			plain.Type(), ssh.FingerprintSHA256(plain), ssh.FingerprintSHA256(attestedPlain))
	}
	return name + " " + string(ssh.MarshalAuthorizedKey(plain)), nil
}
