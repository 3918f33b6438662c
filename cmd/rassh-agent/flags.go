package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
)

// defaultConfigPath is where the agent's configuration lives on a host;
// deploy/agent.yaml is a commented example of every field.
const defaultConfigPath = "/etc/rassh/agent.yaml"

// loadCommandConfig parses the --config flag of command, which takes no
// other arguments, and loads the configuration it names. On failure it
// returns ok false and the exit status: 0 for -h, 2 for a usage or
// configuration error.
func loadCommandConfig(command, summary string, args []string) (cfg *config, logger *slog.Logger, status int, ok bool) {
	fs := flag.NewFlagSet(command, flag.ContinueOnError)
	configPath := fs.String("config", defaultConfigPath, "agent configuration `file` (YAML or JSON; deploy/agent.yaml is a commented example)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: rassh-agent %s [--config FILE]\n\n%s\n\n", command, summary)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, exitOK, false
		}
		return nil, nil, exitUsage, false
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "rassh-agent %s: unexpected arguments %q\n", command, fs.Args())
		return nil, nil, exitUsage, false
	}
	logger = newLogger()
	cfg, err := loadConfig(*configPath)
	if err != nil {
		logger.Error("invalid configuration", "error", err, "hint", "see deploy/agent.yaml for a commented example")
		return nil, nil, exitUsage, false
	}
	return cfg, logger, exitOK, true
}
