// Package enroll is the host side of enrollment: it gets attestation evidence
// bound to a CA challenge, asks the CA for host certificates, checks and
// installs them next to the host keys, reloads sshd, and renews them before
// they expire.
package enroll

import (
	"context"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/binding"
)

// Provider produces attestation evidence bound to a binding value: a TDX
// quote whose REPORTDATA is the value, or on Azure a quote over runtime data
// whose user-data is the value.
type Provider interface {
	Evidence(ctx context.Context, v binding.Value) (verifier.Evidence, error)
}
