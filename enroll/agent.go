package enroll

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"
)

// Default retry delays of Agent.Run.
const (
	DefaultMinBackoff = 5 * time.Second
	DefaultMaxBackoff = 5 * time.Minute
)

// Agent enrolls the host keys, installs the certificates, reloads sshd, and
// keeps the certificates renewed.
type Agent struct {
	Enroller *Enroller
	// CertPaths holds where to write each host key's certificate, in the
	// order of Enroller.HostKeys.Public().
	CertPaths []string
	// Reloader makes sshd load new certificates; nil means no reload.
	Reloader *Reloader
	// Logger receives starts, renewals and every retry; nil means
	// slog.Default().
	Logger *slog.Logger
	// MinBackoff is the delay before the first retry after a failure, and
	// MaxBackoff caps the doubling delays after that. Zero means
	// DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// Random returns a number in [0, 1) for jitter; nil means math/rand/v2.
	Random func() float64
	// OnInstall, when set, is called after certificates are installed and
	// sshd reloaded, for example to let the ra-ssh server know.
	OnInstall func(*Enrollment)
}

func (a *Agent) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.Default()
	}
	return a.Logger
}

func (a *Agent) random() float64 {
	if a.Random == nil {
		return rand.Float64()
	}
	return a.Random()
}

// EnrollOnce enrolls, installs the certificates and reloads sshd. After a
// success the join token is dropped, because it is single use. Later
// renewals enroll as the host's attested identity (Azure vmUniqueId, or
// MRCONFIGID, MROWNER and MROWNERCONFIG); a host with none of them cannot
// renew without a new join token.
func (a *Agent) EnrollOnce(ctx context.Context) (*Enrollment, error) {
	enrollment, err := a.Enroller.Enroll(ctx)
	if err != nil && a.Enroller.JoinToken != "" && joinTokenSpent(err) {
		// A restarted agent still has the token it already spent.
		a.logger().Warn("join token already used; enrolling without it", "error", err)
		a.Enroller.JoinToken = ""
		enrollment, err = a.Enroller.Enroll(ctx)
	}
	if err != nil {
		return nil, err
	}
	a.Enroller.JoinToken = ""

	if err := InstallCertificates(enrollment.Certificates, a.CertPaths); err != nil {
		return nil, err
	}
	if a.Reloader != nil {
		if err := a.Reloader.Reload(ctx); err != nil {
			return nil, err
		}
	}
	if a.OnInstall != nil {
		a.OnInstall(enrollment)
	}
	return enrollment, nil
}

// joinTokenSpent reports whether the CA rejected the join token as used.
func joinTokenSpent(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Rejected() && apiErr.Code == codeJoinTokenUsed
}

// codeJoinTokenUsed is the CA's error code for a join token used before.
const codeJoinTokenUsed = "join_token_used"

// Run enrolls, then renews at about two thirds of each certificate's
// remaining lifetime until ctx is done. Failures are retried with doubling,
// capped delays; the certificates already installed keep being served while
// they are valid. Run returns nil when ctx is done.
func (a *Agent) Run(ctx context.Context) error {
	log := a.logger()
	current := a.installed()
	if current != nil {
		log.Info("installed certificates are valid", "valid_before", current.ValidBefore().Format(time.RFC3339))
	}

	failures := 0
	wait := time.Duration(0)
	for {
		if !sleep(ctx, wait) {
			log.Info("renewal stopped")
			return nil
		}
		enrollment, err := a.EnrollOnce(ctx)
		if err != nil {
			if ctx.Err() != nil {
				log.Info("renewal stopped")
				return nil
			}
			failures++
			wait = a.backoff(failures)
			a.logFailure(err, failures, wait, current)
			continue
		}

		failures = 0
		current = enrollment
		wait = a.renewDelay(enrollment)
		log.Info("certificates installed",
			"host_id", enrollment.HostID,
			"serials", serials(enrollment),
			"principals", strings.Join(enrollment.Certificates[0].ValidPrincipals, ","),
			"valid_before", enrollment.ValidBefore().Format(time.RFC3339),
			"next_renewal_in", wait.Round(time.Second).String())
	}
}

func (a *Agent) logFailure(err error, failures int, wait time.Duration, current *Enrollment) {
	attrs := []any{"error", err, "attempt", failures, "retry_in", wait.Round(time.Millisecond).String()}
	if current == nil {
		a.logger().Error("enrollment failed; no valid certificate installed", attrs...)
		return
	}
	validBefore := current.ValidBefore()
	attrs = append(attrs, "valid_before", validBefore.Format(time.RFC3339))
	if !a.Enroller.now().Before(validBefore) {
		a.logger().Error("renewal failed; the installed certificate has expired", attrs...)
		return
	}
	a.logger().Warn("renewal failed; the installed certificate is still valid", attrs...)
}

// renewDelay returns the time until renewal: two thirds of the time from
// receipt to expiry, less a random tenth of that span, so that hosts
// enrolled together spread out their renewals.
func (a *Agent) renewDelay(e *Enrollment) time.Duration {
	span := e.ValidBefore().Sub(e.ReceivedAt)
	if span <= 0 {
		return 0
	}
	jitter := time.Duration(a.random() * float64(span) / 10)
	delay := span*2/3 - jitter - a.Enroller.now().Sub(e.ReceivedAt)
	return max(delay, 0)
}

// backoff returns the delay before retry number failures (from 1): the
// minimum doubled per failure, capped, then randomly shortened by up to a
// quarter.
func (a *Agent) backoff(failures int) time.Duration {
	lo, hi := a.MinBackoff, a.MaxBackoff
	if lo <= 0 {
		lo = DefaultMinBackoff
	}
	if hi <= 0 {
		hi = DefaultMaxBackoff
	}
	delay := lo
	for i := 1; i < failures && delay < hi; i++ {
		delay *= 2
	}
	delay = min(delay, hi)
	return delay - time.Duration(a.random()*float64(delay)/4)
}

// installed returns the certificates already at CertPaths when they certify
// the current host keys, come from a trusted CA and are valid now.
func (a *Agent) installed() *Enrollment {
	certs, err := ReadCertificates(a.CertPaths)
	if err != nil {
		return nil
	}
	keys := a.Enroller.HostKeys.Public()
	now := a.Enroller.now()
	for i, cert := range certs {
		check := CertCheck{HostKey: keys[i], CAKeys: a.Enroller.CAKeys, Principals: a.Enroller.Principals, Now: now}
		if err := CheckCertificate(cert, check); err != nil {
			a.logger().Info("installed certificate not usable", "path", a.CertPaths[i], "reason", err)
			return nil
		}
	}
	return &Enrollment{Certificates: certs, ReceivedAt: now}
}

func serials(e *Enrollment) string {
	s := make([]string, len(e.Certificates))
	for i, cert := range e.Certificates {
		s[i] = fmt.Sprint(cert.Serial)
	}
	return strings.Join(s, ",")
}

// sleep waits for d or until ctx is done, and reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
