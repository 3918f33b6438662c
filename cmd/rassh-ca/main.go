// Command rassh-ca. Each subcommand lives in its own file and registers itself
// in commands from an init function.
package main

import (
	"fmt"
	"os"
	"sort"
)

// Exit statuses shared by all subcommands.
const (
	exitOK        = 0
	exitRejected  = 1 // verification failed or the request was rejected
	exitUsage     = 2 // invalid flags or arguments
	exitUndecided = 3 // could not decide: a service or collateral was unreachable
)

type command struct {
	summary string
	run     func(args []string) int
}

var commands = map[string]command{}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(exitUsage)
	}
	if os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		os.Exit(exitOK)
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "rassh-ca: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(exitUsage)
	}
	status := cmd.run(os.Args[2:])
	if helpRequested(os.Args[2:]) {
		// The flag package reports -h as an error; asking for help succeeds.
		status = exitOK
	}
	os.Exit(status)
}

// helpRequested reports whether args ask a command only for its help.
func helpRequested(args []string) bool {
	return len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help")
}

func usage() {
	fmt.Fprintf(os.Stderr, "usage: rassh-ca COMMAND [flags]\n\ncommands:\n")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(os.Stderr, "  %-12s %s\n", name, commands[name].summary)
	}
	fmt.Fprintf(os.Stderr, "\nRun 'rassh-ca COMMAND -h' for the flags of a command.\n")
}
