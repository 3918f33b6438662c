package verifier

import (
	"crypto/subtle"
	"errors"

	"github.com/rassh/rassh/verifier/binding"
)

// CheckBinding checks that the claims carry the expected binding value as
// their user data, and returns a *RejectedError with Check "binding"
// otherwise. Both values appear in the error as hex: binding values are
// digests of public data.
func CheckBinding(c *Claims, want binding.Value) error {
	if c == nil {
		return &RejectedError{Check: "binding", Err: errors.New("no claims")}
	}
	if len(c.UserData) != binding.Size || subtle.ConstantTimeCompare(c.UserData, want[:]) != 1 {
		return Reject("binding", "user data %x does not match the expected binding %x", []byte(c.UserData), want[:])
	}
	return nil
}
