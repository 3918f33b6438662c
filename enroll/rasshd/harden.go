package rasshd

import (
	"crypto/ed25519"
	"fmt"
	"log/slog"

	"golang.org/x/sys/unix"
)

// DisableDumps makes the process not dumpable: no core dumps, and only root
// (with CAP_SYS_PTRACE) can attach to it or read its memory through /proc.
func DisableDumps() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl PR_SET_DUMPABLE 0: %w", err)
	}
	return nil
}

// LockAllMemory locks every current and future page of the process in RAM
// with mlockall, so no key material is ever swapped out. It needs
// CAP_IPC_LOCK or a large enough RLIMIT_MEMLOCK (LimitMEMLOCK=infinity in the
// systemd unit). Failure is logged as a warning, not fatal.
func LockAllMemory(logger *slog.Logger) {
	if err := unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE); err != nil {
		logger.Warn("mlockall failed; memory holding keys may be swapped out", "err", err)
	}
}

// lockKeys mlocks the pages holding Ed25519 private keys, whose bytes the
// KeyRing owns. ECDSA and RSA keys live in math/big values that this package
// cannot reach, so only LockAllMemory covers them.
func (k *KeyRing) lockKeys(logger *slog.Logger) {
	for _, hk := range k.keys {
		priv, ok := hk.private.(ed25519.PrivateKey)
		if !ok {
			continue
		}
		if err := unix.Mlock(priv); err != nil {
			logger.Warn("mlock of host key failed; it may be swapped out", "key_type", hk.signer.PublicKey().Type(), "err", err)
		}
	}
}
