package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Errors of the one-time values and lookups. Callers compare with errors.Is.
var (
	ErrChallengeUnknown = errors.New("challenge unknown")
	ErrChallengeUsed    = errors.New("challenge already used")
	ErrChallengeExpired = errors.New("challenge expired")
	ErrTooManyPending   = errors.New("too many pending challenges")

	ErrJoinTokenUnknown = errors.New("join token unknown")
	ErrJoinTokenUsed    = errors.New("join token already used")
	ErrJoinTokenExpired = errors.New("join token expired")

	ErrSerialExists = errors.New("certificate serial already exists")
	ErrNotFound     = errors.New("not found")
)

// ConflictError reports a principal that is bound to another host identity.
type ConflictError struct {
	Principal string
	Owner     string // the identity that holds the principal
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("principal %q is bound to another host identity", e.Principal)
}

// mustExist checks that the store file exists, because bbolt would create a
// new, empty store in its place.
func mustExist(path string) error {
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("open store %s: %w; check the store path in the configuration, or run \"rassh-ca init\" to create a CA", path, err)
	}
	if err != nil {
		return fmt.Errorf("open store %s: %w", path, err)
	}
	return nil
}

func errSeqMismatch(key []byte, seq uint64) error {
	return fmt.Errorf("store: audit record at key %x carries sequence %d", key, seq)
}
