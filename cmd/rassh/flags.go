package main

import (
	"flag"
	"fmt"
	"net"
	"os/user"
	"strings"

	"github.com/rassh/rassh/client"
)

// commonFlags are the flags every mode takes.
type commonFlags struct {
	port       string
	user       string
	identities stringsFlag
	configPath string
	options    stringsFlag
}

func (f *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.port, "p", "22", "`port` to connect to")
	fs.StringVar(&f.user, "l", "", "remote `user` (default: the local user)")
	fs.Var(&f.identities, "i", "private key `file` to offer (repeatable)")
	fs.StringVar(&f.configPath, "F", "", "configuration `file` (default ~/.config/rassh/config.yaml)")
	fs.Var(&f.options, "o", "`name=value` overriding a configuration field (repeatable)")
}

// config loads the configuration file and applies -o and -i.
func (f *commonFlags) config() (*client.Config, error) {
	path, explicit := f.configPath, f.configPath != ""
	if !explicit {
		path = client.DefaultConfigPath()
	}
	cfg, err := client.LoadConfig(path, explicit)
	if err != nil {
		return nil, err
	}
	for _, o := range f.options {
		if err := cfg.Set(o); err != nil {
			return nil, err
		}
	}
	if len(f.identities) > 0 {
		cfg.IdentityFiles = client.StringList(f.identities)
	}
	return cfg, nil
}

// target splits [user@]host into the user and the "host:port" address.
func (f *commonFlags) target(arg string) (string, string, error) {
	login := f.user
	host := arg
	if at := strings.LastIndex(arg, "@"); at >= 0 {
		login, host = arg[:at], arg[at+1:]
	}
	if host == "" {
		return "", "", fmt.Errorf("missing host in %q", arg)
	}
	if login == "" {
		u, err := user.Current()
		if err != nil {
			return "", "", fmt.Errorf("no -l and no local user name: %w", err)
		}
		login = u.Username
	}
	return login, net.JoinHostPort(strings.Trim(host, "[]"), f.port), nil
}

type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }
