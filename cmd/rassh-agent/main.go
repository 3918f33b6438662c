// Command rassh-agent. Each subcommand lives in its own file and registers itself
// in commands from an init function.
package main

import (
	"os"

	"github.com/rassh/rassh/internal/cli"
)

// Exit statuses shared by all subcommands.
const (
	exitOK        = 0
	exitRejected  = 1 // verification failed or the request was rejected
	exitUsage     = 2 // invalid flags or arguments
	exitUndecided = 3 // could not decide: a service or collateral was unreachable
)

type command = cli.Command

var commands = map[string]command{}

func main() {
	os.Exit(cli.Main("rassh-agent", commands, os.Args[1:], os.Stderr))
}
