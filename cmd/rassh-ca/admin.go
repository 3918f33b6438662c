package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rassh/rassh/internal/cli"
)

func init() {
	commands["admin"] = command{Summary: "manage tokens, registrations, hosts and revocations", Run: runAdmin}
}

// adminCommands are the subcommands of "rassh-ca admin", by their words.
var adminCommands = map[string]command{
	"token create":        {Summary: "create an admin token in the store (offline: serve must be stopped)", Run: runAdminTokenCreate},
	"join-token create":   {Summary: "create a one-time join token for given principals", Run: runJoinTokenCreate},
	"join-token list":     {Summary: "list join tokens (without the token strings)", Run: runJoinTokenList},
	"registration create": {Summary: "register a host identity with its principals", Run: runRegistrationCreate},
	"registration list":   {Summary: "list registrations", Run: runRegistrationList},
	"registration delete": {Summary: "delete the registration of a host identity", Run: runRegistrationDelete},
	"hosts":               {Summary: "list enrolled hosts", Run: runHosts},
	"certificates":        {Summary: "list issued certificates", Run: runCertificates},
	"audit":               {Summary: "print the audit log", Run: runAudit},
	"revoke":              {Summary: "revoke a certificate serial, a host key or a host identity", Run: runRevoke},
	"known-hosts":         {Summary: "print the CA's @cert-authority known_hosts line", Run: runKnownHosts},
	"krl":                 {Summary: "download the KRL of revoked certificates and keys", Run: runKRL},
}

func runAdmin(args []string) int {
	for n := 2; n >= 1; n-- {
		if len(args) < n {
			continue
		}
		name := args[0]
		if n == 2 {
			name += " " + args[1]
		}
		if cmd, ok := adminCommands[name]; ok {
			return cmd.Run(args[n:])
		}
	}
	if len(args) > 0 && !cli.HelpRequested(args) {
		fmt.Fprintf(os.Stderr, "rassh-ca admin: unknown command %q\n\n", strings.Join(args[:min(2, len(args))], " "))
	}
	adminUsage()
	return exitUsage
}

func adminUsage() {
	fmt.Fprintf(os.Stderr, "usage: rassh-ca admin COMMAND [flags]\n\ncommands:\n")
	names := make([]string, 0, len(adminCommands))
	for name := range adminCommands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(os.Stderr, "  %-20s %s\n", name, adminCommands[name].Summary)
	}
	fmt.Fprintf(os.Stderr, "\nCommands other than 'token create' call the API: --ca URL, --admin-token-file FILE,\n"+
		"and --ca-fingerprint SHA256 or --ca-bundle FILE (or --insecure, development only).\n")
}

func runAdminTokenCreate(args []string) int {
	fs := newFlagSet("admin token create")
	configPath := fs.String("config", "", "configuration file of the CA")
	comment := fs.String("comment", "", "note stored with the token")
	out := fs.String("out", "", "write the token to this file (mode 0600) instead of standard output")
	if !parseFlags(fs, args) {
		return exitUsage
	}
	if *configPath == "" {
		fmt.Fprintln(os.Stderr, "rassh-ca admin token create: --config is required")
		return exitUsage
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return fail(err)
	}
	token, err := createAdminToken(cfg.path(cfg.Store), false, *comment)
	if err != nil {
		return fail(err)
	}
	if *out != "" {
		if err := writeNew(filepath.Clean(*out), []byte(token+"\n"), 0o600); err != nil {
			return fail(err)
		}
		return exitOK
	}
	fmt.Println(token)
	return exitOK
}

func fail(err error) int {
	fmt.Fprintf(os.Stderr, "rassh-ca admin: %v\n", err)
	return exitRejected
}
