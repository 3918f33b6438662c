// Package cli dispatches a program's subcommands: rassh-ca COMMAND and
// rassh-agent COMMAND.
package cli

import (
	"fmt"
	"io"
	"sort"
)

// Exit statuses of the dispatcher itself.
const (
	exitOK    = 0
	exitUsage = 2
)

// Command is one subcommand.
type Command struct {
	Summary string                  // one line for the program's usage
	Run     func(args []string) int // returns the exit status
}

// Main runs the subcommand that args[0] names with the remaining arguments
// and returns the exit status. Without arguments, or for an unknown
// command, it prints the usage to stderr and returns 2. Asking a program or
// a command only for help ("-h", "--help") returns 0, although the flag
// package reports it as an error.
func Main(program string, commands map[string]Command, args []string, stderr io.Writer) int {
	if len(args) == 0 {
		usage(program, commands, stderr)
		return exitUsage
	}
	if args[0] == "help" || HelpRequested(args) {
		usage(program, commands, stderr)
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "%s: unknown command %q\n\n", program, args[0])
		usage(program, commands, stderr)
		return exitUsage
	}
	status := cmd.Run(args[1:])
	if HelpRequested(args[1:]) {
		return exitOK
	}
	return status
}

// HelpRequested reports whether args request only help.
func HelpRequested(args []string) bool {
	return len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help")
}

func usage(program string, commands map[string]Command, w io.Writer) {
	fmt.Fprintf(w, "usage: %s COMMAND [flags]\n\ncommands:\n", program)
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-12s %s\n", name, commands[name].Summary)
	}
	fmt.Fprintf(w, "\nRun '%s COMMAND -h' for the flags of a command.\n", program)
}
