package rasshd

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/rassh/rassh/client/raproto"
	"github.com/rassh/rassh/verifier/binding"
)

// Default epoch timing.
const (
	DefaultEpochPeriod  = 10 * time.Minute
	DefaultTokenRefresh = 2 * time.Minute
)

// Epoch serves epoch mode: an in-memory Ed25519 key K_att, replaced every
// Period, with one token over binding.Epoch(K_att, HostKeys, not-after) that
// is fetched at rotation and refreshed every TokenRefresh. Each answer is a
// K_att signature over the request's binding.Connect value plus the cached
// token, so a request costs one signature and no quote.
type Epoch struct {
	Attester Attester
	HostKeys [][]byte // the host keys the epoch covers, SSH wire form
	// Period is how long one K_att is used; 0: DefaultEpochPeriod.
	Period time.Duration
	// TokenRefresh is how often a new token is fetched for the current K_att.
	// It must be well within the clients' maximum token age; 0:
	// DefaultTokenRefresh.
	TokenRefresh time.Duration
	Logger       *slog.Logger     // nil: slog.Default()
	Now          func() time.Time // nil: time.Now

	mu    sync.RWMutex
	state *epochState
}

type epochState struct {
	private   ed25519.PrivateKey
	signer    ssh.Signer
	kAtt      []byte // K_att in SSH wire form
	notAfter  time.Time
	rotatedAt time.Time
	token     string
}

var errNoEpoch = errors.New("no epoch key yet")

// Rotate makes a new K_att, gets a token for it and replaces the current
// epoch. On error the current epoch stays.
func (e *Epoch) Rotate(ctx context.Context) error {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("epoch: generate key: %w", err)
	}
	if err := unix.Mlock(priv); err != nil {
		e.logger().Warn("epoch: mlock of K_att failed; it may be swapped out", "err", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return fmt.Errorf("epoch: %w", err)
	}
	now := e.now()
	st := &epochState{
		private:   priv,
		signer:    signer,
		kAtt:      signer.PublicKey().Marshal(),
		rotatedAt: now,
		notAfter:  now.Add(e.period() + e.refresh()).UTC().Truncate(time.Second),
	}
	st.token, err = e.Attester.Attest(ctx, binding.Epoch(st.kAtt, e.HostKeys, st.notAfter))
	if err != nil {
		clear(priv)
		return fmt.Errorf("epoch: rotate: %w", err)
	}

	e.mu.Lock()
	old := e.state
	e.state = st
	if old != nil {
		clear(old.private)
	}
	e.mu.Unlock()
	e.logger().Info("epoch: rotated K_att", "not_after", binding.FormatTime(st.notAfter))
	return nil
}

// Refresh gets a new token for the current K_att and not-after.
func (e *Epoch) Refresh(ctx context.Context) error {
	e.mu.RLock()
	st := e.state
	e.mu.RUnlock()
	if st == nil {
		return fmt.Errorf("epoch: refresh: %w", errNoEpoch)
	}
	token, err := e.Attester.Attest(ctx, binding.Epoch(st.kAtt, e.HostKeys, st.notAfter))
	if err != nil {
		return fmt.Errorf("epoch: refresh: %w", err)
	}

	e.mu.Lock()
	if e.state == st {
		st.token = token
	}
	e.mu.Unlock()
	return nil
}

// Run rotates and refreshes on schedule until ctx ends, starting with a
// rotation when there is no epoch yet. Failures are logged and retried after
// a quarter of TokenRefresh.
func (e *Epoch) Run(ctx context.Context) {
	wait := e.refresh()
	e.mu.RLock()
	if e.state == nil {
		wait = 0
	}
	e.mu.RUnlock()
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if err := e.step(ctx); err != nil {
			e.logger().Error("epoch: update failed, will retry", "err", err)
			wait = e.refresh() / 4
			continue
		}
		wait = e.refresh()
	}
}

func (e *Epoch) step(ctx context.Context) error {
	e.mu.RLock()
	st := e.state
	e.mu.RUnlock()
	if st == nil || e.now().Sub(st.rotatedAt) >= e.period() {
		return e.Rotate(ctx)
	}
	return e.Refresh(ctx)
}

// answer signs the connection binding v with K_att and returns the epoch part
// of a response and the cached token.
func (e *Epoch) answer(v binding.Value) (*raproto.Epoch, string, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	st := e.state
	if st == nil {
		return nil, "", fmt.Errorf("epoch: %w", errNoEpoch)
	}
	if !e.now().Before(st.notAfter) {
		return nil, "", fmt.Errorf("epoch: K_att expired at %s and was not rotated", binding.FormatTime(st.notAfter))
	}
	sig, err := st.signer.Sign(rand.Reader, v[:])
	if err != nil {
		return nil, "", fmt.Errorf("epoch: sign: %w", err)
	}
	return &raproto.Epoch{
		KAtt:      st.kAtt,
		HostKeys:  e.HostKeys,
		NotAfter:  st.notAfter,
		Signature: ssh.Marshal(sig),
	}, st.token, nil
}

func (e *Epoch) period() time.Duration {
	if e.Period <= 0 {
		return DefaultEpochPeriod
	}
	return e.Period
}

func (e *Epoch) refresh() time.Duration {
	if e.TokenRefresh <= 0 {
		return DefaultTokenRefresh
	}
	return e.TokenRefresh
}

func (e *Epoch) logger() *slog.Logger {
	if e.Logger == nil {
		return slog.Default()
	}
	return e.Logger
}

func (e *Epoch) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}
