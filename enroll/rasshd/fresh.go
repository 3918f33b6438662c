package rasshd

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rassh/rassh/verifier/binding"
)

// BusyError means the quote queue is full.
type BusyError struct {
	RetryAfter time.Duration // estimated time until a queue slot frees
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("quote queue full, retry after %v", e.RetryAfter)
}

// Fresh makes one token per request over that request's binding value. A TD
// produces one quote at a time, so attestations run one after another, and at
// most MaxQueue requests wait; further requests get a BusyError at once.
type Fresh struct {
	Attester Attester
	MaxQueue int // requests that may wait behind the running one; 0: 8

	once    sync.Once
	slots   chan struct{} // one per running or waiting request
	running chan struct{} // the single attestation in progress

	mu      sync.Mutex
	average time.Duration // moving average of attestation time
}

// minRetryAfter is the shortest retry delay a busy answer suggests.
const minRetryAfter = 50 * time.Millisecond

func (f *Fresh) init() {
	f.once.Do(func() {
		queue := f.MaxQueue
		if queue <= 0 {
			queue = 8
		}
		f.slots = make(chan struct{}, 1+queue)
		f.running = make(chan struct{}, 1)
	})
}

// Token returns a token over v, or a *BusyError when the queue is full.
func (f *Fresh) Token(ctx context.Context, v binding.Value) (string, error) {
	f.init()
	select {
	case f.slots <- struct{}{}:
	default:
		return "", &BusyError{RetryAfter: f.retryAfter()}
	}
	defer func() { <-f.slots }()

	select {
	case f.running <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("wait for quote queue: %w", ctx.Err())
	}
	defer func() { <-f.running }()

	start := time.Now()
	token, err := f.Attester.Attest(ctx, v)
	f.observe(time.Since(start))
	return token, err
}

func (f *Fresh) observe(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.average == 0 {
		f.average = d
		return
	}
	f.average = (3*f.average + d) / 4
}

// retryAfter estimates when the running attestation finishes and frees a
// slot: one average attestation time.
func (f *Fresh) retryAfter() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return max(f.average, minRetryAfter)
}
