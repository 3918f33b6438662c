package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/rassh/rassh/api/wire"
	"github.com/rassh/rassh/internal/boundedfile"
)

// maxPublicKeyFile bounds the --host-key file of "admin revoke", an
// authorized_keys line. An RSA 16384-bit public key line is under 3 KiB.
const maxPublicKeyFile = 64 << 10

// apiCommand parses the flags of an API-backed admin command and returns its
// client, or an exit status.
func apiCommand(fs *flag.FlagSet, args []string, needToken bool, check func() error) (*apiClient, int) {
	var cf clientFlags
	cf.register(fs)
	if !parseFlags(fs, args) {
		return nil, exitUsage
	}
	if check != nil {
		if err := check(); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", fs.Name(), err)
			return nil, exitUsage
		}
	}
	c, err := cf.client(needToken)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", fs.Name(), err)
		return nil, exitUsage
	}
	return c, exitOK
}

func runJoinTokenCreate(args []string) int {
	fs := newFlagSet("admin join-token create")
	principals := fs.String("principals", "", "comma-separated principals the token grants, for example host1.example.com")
	ttl := fs.Duration("ttl", time.Hour, "how long the token may be used")
	comment := fs.String("comment", "", "note stored with the token")
	c, code := apiCommand(fs, args, true, func() error {
		if len(splitList(*principals)) == 0 {
			return errors.New("--principals is required")
		}
		if *ttl < time.Second {
			return errors.New("--ttl must be at least 1s")
		}
		return nil
	})
	if c == nil {
		return code
	}
	req := wire.JoinTokenRequest{Principals: splitList(*principals), TTLSeconds: int64(*ttl / time.Second), Comment: *comment}
	var resp wire.JoinTokenResponse
	if err := c.do("POST", "/v1/join-tokens", req, &resp); err != nil {
		return fail(err)
	}
	fmt.Fprintf(os.Stderr, "join token %s for %v, valid until %s\n", resp.ID, resp.Principals, resp.ExpiresAt.Format(time.RFC3339))
	fmt.Println(resp.Token)
	return exitOK
}

func runJoinTokenList(args []string) int {
	c, code := apiCommand(newFlagSet("admin join-token list"), args, true, nil)
	if c == nil {
		return code
	}
	var list []wire.JoinToken
	return getAndPrint(c, "/v1/join-tokens", &list)
}

func getAndPrint(c *apiClient, path string, out any) int {
	if err := c.do("GET", path, nil, out); err != nil {
		return fail(err)
	}
	return printJSON(out)
}

func runRegistrationCreate(args []string) int {
	fs := newFlagSet("admin registration create")
	identity := fs.String("identity", "", "attested host identity: Azure vmUniqueId, or hex(MRCONFIGID||MROWNER||MROWNERCONFIG); lifts a revocation of it")
	principals := fs.String("principals", "", "comma-separated principals the host gets")
	comment := fs.String("comment", "", "note stored with the registration")
	c, code := apiCommand(fs, args, true, func() error {
		if *identity == "" || len(splitList(*principals)) == 0 {
			return errors.New("--identity and --principals are required")
		}
		return nil
	})
	if c == nil {
		return code
	}
	req := wire.RegistrationRequest{Identity: *identity, Principals: splitList(*principals), Comment: *comment}
	var resp wire.Registration
	if err := c.do("POST", "/v1/registrations", req, &resp); err != nil {
		return fail(err)
	}
	return printJSON(resp)
}

func runRegistrationList(args []string) int {
	c, code := apiCommand(newFlagSet("admin registration list"), args, true, nil)
	if c == nil {
		return code
	}
	var list []wire.Registration
	return getAndPrint(c, "/v1/registrations", &list)
}

func runRegistrationDelete(args []string) int {
	fs := newFlagSet("admin registration delete")
	identity := fs.String("identity", "", "host identity whose registration to delete")
	c, code := apiCommand(fs, args, true, func() error {
		if *identity == "" {
			return errors.New("--identity is required")
		}
		return nil
	})
	if c == nil {
		return code
	}
	if err := c.do("DELETE", "/v1/registrations/"+url.PathEscape(*identity), nil, nil); err != nil {
		return fail(err)
	}
	return exitOK
}

func runHosts(args []string) int {
	c, code := apiCommand(newFlagSet("admin hosts"), args, true, nil)
	if c == nil {
		return code
	}
	var list []wire.Host
	return getAndPrint(c, "/v1/hosts", &list)
}

func runCertificates(args []string) int {
	c, code := apiCommand(newFlagSet("admin certificates"), args, true, nil)
	if c == nil {
		return code
	}
	var list []wire.Certificate
	return getAndPrint(c, "/v1/certificates", &list)
}

func runAudit(args []string) int {
	fs := newFlagSet("admin audit")
	after := fs.Uint64("after", 0, "print events with a sequence number greater than this")
	limit := fs.Uint64("limit", 1000, "print at most this many events (at most 1000)")
	c, code := apiCommand(fs, args, true, nil)
	if c == nil {
		return code
	}
	var list []wire.AuditEvent
	return getAndPrint(c, "/v1/audit?after="+strconv.FormatUint(*after, 10)+"&limit="+strconv.FormatUint(*limit, 10), &list)
}

func runRevoke(args []string) int {
	fs := newFlagSet("admin revoke")
	serial := fs.Uint64("serial", 0, "certificate serial to revoke")
	keyFile := fs.String("host-key", "", "public key file of a host key to revoke")
	identity := fs.String("identity", "", "host identity to revoke: its current keys and certificates are revoked and it may not enroll until its registration is created again")
	reason := fs.String("reason", "", "reason recorded in the audit log")
	c, code := apiCommand(fs, args, true, nil)
	if c == nil {
		return code
	}
	if targets := countSet(*serial != 0, *keyFile != "", *identity != ""); targets != 1 {
		fmt.Fprintf(os.Stderr, "rassh-ca admin revoke: give exactly one of --serial, --host-key and --identity (got %d)\n", targets)
		return exitUsage
	}
	req := wire.RevocationRequest{Serial: *serial, Identity: *identity, Reason: *reason}
	if *keyFile != "" {
		b, err := boundedfile.Read(*keyFile, maxPublicKeyFile)
		if err != nil {
			return fail(fmt.Errorf("read --host-key: %w", err))
		}
		req.HostKey = string(b)
	}
	var resp wire.RevocationResponse
	if err := c.do("POST", "/v1/revocations", req, &resp); err != nil {
		return fail(err)
	}
	if *identity != "" && len(resp.Serials) == 0 && len(resp.HostKeys) == 0 {
		fmt.Fprintf(os.Stderr, "rassh-ca admin revoke: identity %s had no certificates or keys to revoke; it may not enroll until its registration is created again\n", *identity)
	}
	return printJSON(resp)
}

// countSet returns how many of the conditions hold.
func countSet(conditions ...bool) int {
	n := 0
	for _, c := range conditions {
		if c {
			n++
		}
	}
	return n
}

func runKnownHosts(args []string) int {
	c, code := apiCommand(newFlagSet("admin known-hosts"), args, false, nil)
	if c == nil {
		return code
	}
	var text []byte
	if err := c.do("GET", "/v1/ca", nil, &text); err != nil {
		return fail(err)
	}
	os.Stdout.Write(text)
	return exitOK
}

func runKRL(args []string) int {
	fs := newFlagSet("admin krl")
	out := fs.String("out", "", "file to write the KRL to")
	c, code := apiCommand(fs, args, false, func() error {
		if *out == "" {
			return errors.New("--out is required")
		}
		return nil
	})
	if c == nil {
		return code
	}
	var krl []byte
	if err := c.do("GET", "/v1/krl", nil, &krl); err != nil {
		return fail(err)
	}
	if err := os.WriteFile(*out, krl, 0o644); err != nil {
		return fail(err)
	}
	return exitOK
}
