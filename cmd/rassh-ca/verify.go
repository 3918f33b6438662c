package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/binding"
	"github.com/rassh/rassh/verifier/policy"
)

func init() {
	commands["verify"] = command{
		Summary: "verify a TDX quote (with Azure runtime data) or an attestation token offline",
		Run:     func(args []string) int { return runVerify(args, os.Stdout, os.Stderr) },
	}
}

// verifyOptions are the parsed flags of the verify command.
type verifyOptions struct {
	quotePath, runtimeDataPath, hclReportPath string
	collateralDir                             string
	tokenPath, jwks, issuer                   string
	policyPath                                string
	expectUserData                            *binding.Value
	at                                        time.Time
	json                                      bool
}

const verifyUsage = `usage: rassh-ca verify --quote FILE [--runtime-data FILE | --hcl-report FILE] [--collateral DIR] [flags]
       rassh-ca verify --token FILE --jwks FILE|URL --issuer URL [flags]

Verifies attestation evidence or an attestation token and prints its claims.
Without --policy only authenticity and time are checked.

Exit status: 0 verified (and the policy passed, if given), 1 rejected,
2 usage error, 3 could not decide (for example collateral missing).

flags:
`

func parseVerifyFlags(args []string, stderr io.Writer) (*verifyOptions, error) {
	fs := flag.NewFlagSet("rassh-ca verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, verifyUsage)
		fs.PrintDefaults()
	}
	var o verifyOptions
	var userData, at string
	fs.StringVar(&o.quotePath, "quote", "", "TDX quote `FILE`, binary, base64 or base64url")
	fs.StringVar(&o.runtimeDataPath, "runtime-data", "", "Azure runtime-data JSON `FILE` (exact bytes) that the quote commits to")
	fs.StringVar(&o.hclReportPath, "hcl-report", "", "Azure HCL report `FILE`, read for its runtime data and TD report")
	fs.StringVar(&o.collateralDir, "collateral", "", "`DIR` of Intel PCS collateral; without it the TCB status is unknown")
	fs.StringVar(&o.tokenPath, "token", "", "attestation token `FILE` (a JWT from MAA or the rassh token service)")
	fs.StringVar(&o.jwks, "jwks", "", "the issuer's key set, a `FILE` or an http(s) URL")
	fs.StringVar(&o.issuer, "issuer", "", "the pinned token issuer `URL`, the exact iss value")
	fs.StringVar(&o.policyPath, "policy", "", "policy `FILE` (YAML or JSON) to check the claims against")
	fs.StringVar(&userData, "expect-user-data", "", "expected binding value (the user data) as 128 `HEX` digits")
	fs.StringVar(&at, "at", "", "verification time, `RFC3339` (default now)")
	fs.BoolVar(&o.json, "json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		// The flag package has printed the error and the usage already.
		return nil, errFlagReported
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	if err := o.checkCombination(); err != nil {
		return nil, err
	}
	o.at = time.Now().UTC()
	if at != "" {
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return nil, fmt.Errorf("--at: invalid time %q, expected RFC 3339 such as 2026-03-01T00:00:00Z", at)
		}
		o.at = t.UTC()
	}
	if userData != "" {
		v, err := parseUserData(userData)
		if err != nil {
			return nil, err
		}
		o.expectUserData = &v
	}
	return &o, nil
}

// checkCombination checks that the flags describe exactly one kind of input.
func (o *verifyOptions) checkCombination() error {
	switch {
	case o.quotePath == "" && o.tokenPath == "":
		return errors.New("one of --quote or --token is required")
	case o.quotePath != "" && o.tokenPath != "":
		return errors.New("--quote and --token cannot be combined, verify one at a time")
	case o.runtimeDataPath != "" && o.hclReportPath != "":
		return errors.New("--runtime-data and --hcl-report cannot be combined, the HCL report already contains the runtime data")
	}
	if o.tokenPath != "" {
		if o.runtimeDataPath != "" || o.hclReportPath != "" || o.collateralDir != "" {
			return errors.New("--runtime-data, --hcl-report and --collateral apply to --quote, not --token")
		}
		if o.jwks == "" || o.issuer == "" {
			return errors.New("--token requires --jwks and --issuer")
		}
	}
	if o.quotePath != "" && (o.jwks != "" || o.issuer != "") {
		return errors.New("--jwks and --issuer apply to --token, not --quote")
	}
	return nil
}

func parseUserData(s string) (binding.Value, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return binding.Value{}, fmt.Errorf("--expect-user-data: invalid hex: %v", err)
	}
	v, err := binding.Parse(b)
	if err != nil {
		return binding.Value{}, fmt.Errorf("--expect-user-data: %d bytes, expected %d (128 hex digits)", len(b), binding.Size)
	}
	return v, nil
}

// errFlagReported is a flag parsing error that the flag package has printed.
var errFlagReported = errors.New("invalid flags")

func runVerify(args []string, stdout, stderr io.Writer) int {
	o, err := parseVerifyFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if errors.Is(err, errFlagReported) {
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "rassh-ca verify: %v\n", err)
		return exitUsage
	}

	var pol *policy.Policy
	if o.policyPath != "" {
		if pol, err = policy.Load(o.policyPath); err != nil {
			fmt.Fprintf(stderr, "rassh-ca verify: %v\n", err)
			return exitUsage
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var res *verifyResult
	if o.tokenPath != "" {
		res, err = verifyToken(ctx, o)
	} else {
		res, err = verifyQuote(ctx, o)
	}
	var usage *usageError
	if errors.As(err, &usage) {
		fmt.Fprintf(stderr, "rassh-ca verify: %v\n", err)
		return exitUsage
	}
	if res == nil {
		res = &verifyResult{} // rejected before any claims existed, such as a malformed file
	}
	if err == nil {
		err = res.checkPolicy(o, pol)
	}
	res.setError(err)

	res.print(stdout, o.json)
	if err != nil {
		fmt.Fprintf(stderr, "rassh-ca verify: %v\n", err)
	}
	return exitCode(err)
}

// exitCode maps a verification error to the exit status. Errors of no known
// class are rejections: the evidence was not accepted.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case verifier.IsUndecided(err):
		return exitUndecided
	default:
		return exitRejected
	}
}

// usageError reports an input that the operator named but that cannot be
// read, such as a missing file.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }
