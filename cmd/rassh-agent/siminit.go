package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rassh/rassh/verifier/tdx/tdxsim"
)

func init() {
	commands["sim-init"] = command{Summary: "create a simulated TD's PCK chain and keys (development and tests only)", Run: runSimInit}
}

func runSimInit(args []string) int {
	fs := flag.NewFlagSet("sim-init", flag.ContinueOnError)
	dir := fs.String("dir", "", "`directory` for the simulation authority, created with mode 0700; it must not hold one yet")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *dir == "" || fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "rassh-agent sim-init: --dir is required, and no arguments are allowed")
		return exitUsage
	}
	root := filepath.Join(*dir, tdxsim.RootFile)
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "rassh-agent sim-init: %s already exists; not overwriting a simulation authority\n", root)
		return exitUsage
	}

	authority, err := tdxsim.NewAuthority(time.Now())
	if err != nil {
		fmt.Fprintf(os.Stderr, "rassh-agent sim-init: %v\n", err)
		return exitRejected
	}
	if err := authority.Save(*dir); err != nil {
		fmt.Fprintf(os.Stderr, "rassh-agent sim-init: %v\n", err)
		return exitRejected
	}
	fmt.Printf("created a simulation authority in %s\n", *dir)
	fmt.Printf("  agent configuration: evidence: {kind: simulated, simulated: {authority_dir: %s}}\n", *dir)
	fmt.Printf("  CA trust (development only): rassh-ca init --simulation-roots %s\n", root)
	fmt.Println("Quotes it signs prove nothing about any machine: never trust its root in production.")
	return exitOK
}
