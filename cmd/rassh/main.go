// Command rassh is an SSH client that checks, before it uses a connection,
// that the host is an attested Intel TDX confidential VM: its host
// certificate, and an ra-ssh answer bound to this session. docs/client.md
// describes its configuration.
//
//	rassh [-p port] [-l user] [-i identity] [-F config] [-o name=value] [-t|-T] [user@]host [command]
//	rassh verify [flags] [user@]host
//	rassh known-hosts-command [flags] HOST KEYTYPE KEY
package main

import (
	"fmt"
	"os"
)

// Exit statuses. A session exits with the remote command's status.
const (
	exitOK        = 0
	exitRejected  = 1   // rassh verify: the host was rejected
	exitUsage     = 2   // rassh verify and known-hosts-command: invalid flags
	exitUndecided = 3   // rassh verify: the check could not be done
	exitFailure   = 255 // rassh's own failures, as ssh uses 255
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "verify":
			os.Exit(runVerify(os.Args[2:]))
		case "known-hosts-command":
			os.Exit(runKnownHostsCommand(os.Args[2:]))
		}
	}
	os.Exit(runSession(os.Args[1:]))
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "rassh: "+format+"\n", args...)
}
