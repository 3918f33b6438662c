package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rassh/rassh/client"
	"github.com/rassh/rassh/verifier"
)

// runVerify connects, runs the check and prints the attestation report.
func runVerify(args []string) int {
	fs := flag.NewFlagSet("rassh verify", flag.ContinueOnError)
	var common commonFlags
	common.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: rassh verify [-p port] [-l user] [-i identity] [-F config] [-o name=value] [user@]host")
		fmt.Fprintln(os.Stderr, "exit status: 0 verified, 1 rejected, 2 usage error, 3 could not decide (host unreachable, agent down or busy, key set unreachable)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		if err == nil {
			fs.Usage()
		}
		return exitUsage
	}

	conn, err := connect(&common, fs.Arg(0))
	var setupErr *setupError
	if errors.As(err, &setupErr) {
		fail("%v", err)
		return exitUsage
	}
	if err != nil {
		// Only a failed check is a rejection. A connection that could not
		// be made or authenticated decided nothing about the host.
		var ce *client.CheckError
		if errors.As(err, &ce) && !client.IsUndecided(err) {
			fmt.Fprintf(os.Stdout, "REJECTED %s\n", fs.Arg(0))
			fail("%v", err)
			return exitRejected
		}
		fmt.Fprintf(os.Stdout, "UNDECIDED %s\n", fs.Arg(0))
		fail("%v", err)
		return exitUndecided
	}
	defer conn.Close()
	if conn.Attestation == nil {
		fmt.Fprintf(os.Stdout, "NOT ATTESTED %s: %s\n", fs.Arg(0), conn.Skipped)
		return exitRejected
	}
	printReport(os.Stdout, conn, time.Now())
	return exitOK
}

// printReport writes the verified attestation as "name: value" lines.
func printReport(w io.Writer, conn *client.Conn, now time.Time) {
	res, c := conn.Attestation, conn.Attestation.Claims
	fmt.Fprintf(w, "VERIFIED %s\n", res.Host)
	line := func(name, format string, args ...any) {
		fmt.Fprintf(w, "  %-15s "+format+"\n", append([]any{name + ":"}, args...)...)
	}
	line("host key", "%s", conn.Host.String())
	line("issuer", "%s (%s)", c.Issuer, c.Verifier)
	line("tee", "%s, platform %s, quote v%d, simulated %v", c.TEE, c.Platform, c.QuoteVersion, c.Simulated)
	line("tcb status", "%s", tcbStatus(c.TCB))
	line("debug", "%v", c.Debug)
	line("mrtd", "%s", c.MRTD)
	for i, r := range c.RTMRs {
		line(fmt.Sprintf("rtmr%d", i), "%s", r)
	}
	if len(c.MRConfigID) > 0 {
		line("mrconfigid", "%s", c.MRConfigID)
	}
	if c.VMUniqueID != "" {
		line("vm unique id", "%s", c.VMUniqueID)
	}
	line("token age", "%s (issued %s)", res.TokenAge.Round(time.Second), c.IssuedAt.UTC().Format(time.RFC3339))
	line("mode", "%s via %s", res.Mode, conn.Via)
	line("binding", "%x", res.Binding[:])
	line("session-bound", "%v", res.SessionBound)
	if !res.EpochNotAfter.IsZero() {
		line("epoch ends", "%s (in %s)", res.EpochNotAfter.Format(time.RFC3339), res.EpochNotAfter.Sub(now).Round(time.Second))
	}
}

func tcbStatus(tcb *verifier.TCB) string {
	if tcb == nil {
		return "unknown (the verifier had no collateral)"
	}
	return tcb.Status
}
