package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/rassh/rassh/client/raproto"
	"github.com/rassh/rassh/enroll/rasshd"
)

func init() {
	commands["respond"] = command{Summary: "relay one ra-ssh request from stdin to the agent (sshd's ra-ssh@rassh subsystem)", Run: runRespond}
}

// runRespond relays one request frame from stdin to the agent's ra-ssh
// socket and one response frame to stdout. sshd runs it for "Subsystem
// ra-ssh@rassh /usr/local/bin/rassh-agent respond".
func runRespond(args []string) int {
	fs := flag.NewFlagSet("respond", flag.ContinueOnError)
	socket := fs.String("socket", raproto.DefaultSocket, "the agent's ra-ssh `socket`")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "rassh-agent respond: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	if err := rasshd.Relay(os.Stdin, os.Stdout, *socket); err != nil {
		fmt.Fprintf(os.Stderr, "rassh-agent %v\n", err)
		return exitRejected
	}
	return exitOK
}
