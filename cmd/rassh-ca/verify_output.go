package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/policy"
)

// Values of verifyResult.Policy.
const (
	policyNone   = "none applied: authenticity and time only"
	policyPassed = "passed"
	policyFailed = "failed"
)

// verifyResult is the verify command's output, printed as a table or as JSON.
type verifyResult struct {
	// Result is "verified", "rejected" or "undecided".
	Result string `json:"result"`
	// Claims are set once the evidence or token is authentic, even when a
	// later check (user data, policy) rejects it.
	Claims *verifier.Claims `json:"claims,omitempty"`
	Policy string           `json:"policy"`
	Notes  []string         `json:"notes,omitempty"`
	Error  *resultError     `json:"error,omitempty"`
}

type resultError struct {
	// Class is "rejected", "policy" or "undecided".
	Class string `json:"class"`
	// Check names the failed authenticity check, Rule the failed policy field.
	Check   string `json:"check,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Message string `json:"message"`
}

// checkPolicy checks the expected user data and then the policy, if given.
func (r *verifyResult) checkPolicy(o *verifyOptions, p *policy.Policy) error {
	if o.expectUserData != nil {
		if err := verifier.CheckBinding(r.Claims, *o.expectUserData); err != nil {
			return err
		}
	}
	if p == nil {
		r.Policy = policyNone
		return nil
	}
	if err := p.Check(r.Claims, o.at); err != nil {
		r.Policy = policyFailed
		return err
	}
	r.Policy = policyPassed
	return nil
}

func (r *verifyResult) setError(err error) {
	r.Result = "verified"
	if err == nil {
		return
	}
	r.Error = &resultError{Class: "rejected", Message: err.Error()}
	r.Result = "rejected"
	var rejected *verifier.RejectedError
	var pol *verifier.PolicyError
	switch {
	case errors.As(err, &pol):
		r.Error.Class, r.Error.Rule = "policy", pol.Rule
	case errors.As(err, &rejected):
		r.Error.Check = rejected.Check
	case verifier.IsUndecided(err):
		r.Error.Class, r.Result = "undecided", "undecided"
	}
}

func (r *verifyResult) print(w io.Writer, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(r)
		return
	}
	if r.Claims == nil {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name, value string) {
		if value != "" {
			fmt.Fprintf(tw, "%s\t%s\n", name, value)
		}
	}
	row("result", r.Result)
	printClaims(row, r.Claims)
	row("policy", r.Policy)
	for _, n := range r.Notes {
		row("note", n)
	}
	tw.Flush()
}

func printClaims(row func(name, value string), c *verifier.Claims) {
	row("verifier", c.Verifier)
	row("issuer", c.Issuer)
	row("verified at", formatTime(c.VerifiedAt))
	row("issued at", formatTime(c.IssuedAt))
	row("attestation type", c.AttestationType)
	row("compliance status", c.ComplianceStatus)
	row("tee", c.TEE)
	row("platform", c.Platform)
	if c.QuoteVersion != 0 {
		row("quote version", strconv.Itoa(c.QuoteVersion))
	}
	row("simulated", strconv.FormatBool(c.Simulated))
	row("tcb status", tcbStatus(c))

	row("mrtd", c.MRTD.String())
	for i, rtmr := range c.RTMRs {
		row("rtmr"+strconv.Itoa(i), rtmr.String())
	}
	row("mr config id", c.MRConfigID.String())
	row("mr owner", c.MROwner.String())
	row("mr owner config", c.MROwnerConfig.String())
	row("mr seam", c.MRSeam.String())
	if len(c.TDAttributes) > 0 {
		row("td attributes", fmt.Sprintf("%s (debug %t)", c.TDAttributes, c.Debug))
	}
	row("xfam", c.XFAM.String())
	row("tee tcb svn", c.TEETCBSVN.String())
	row("report data", c.ReportData.String())

	if vm := c.VMConfiguration; vm != nil {
		row("vm configuration", fmt.Sprintf("secure-boot=%t tpm-enabled=%t console-enabled=%t", vm.SecureBoot, vm.TPMEnabled, vm.ConsoleEnabled))
	}
	row("vm unique id", c.VMUniqueID)
	row("user data", c.UserData.String())
	row("policy hash", c.PolicyHash)

	row("evidence sha-256", c.EvidenceDigest.String())
}

func tcbStatus(c *verifier.Claims) string {
	t := c.TCB
	switch {
	case t == nil && c.Verifier == verifier.VerifierLocal:
		return "unknown (no collateral)"
	case t == nil:
		return "unknown"
	}
	parts := []string{t.Status}
	if !t.Date.IsZero() {
		parts = append(parts, "level of "+t.Date.UTC().Format(time.DateOnly))
	}
	if !t.NewerLevelDate.IsZero() {
		parts = append(parts, "newest level "+t.NewerLevelDate.UTC().Format(time.DateOnly))
	}
	if len(t.AdvisoryIDs) > 0 {
		parts = append(parts, "advisories "+strings.Join(t.AdvisoryIDs, " "))
	}
	parts = append(parts, "crl checked "+strconv.FormatBool(t.CRLChecked))
	return strings.Join(parts, ", ")
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
