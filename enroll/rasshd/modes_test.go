package rasshd

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rassh/rassh/client/raproto"
	"github.com/rassh/rassh/verifier/binding"
)

func testRequest(mode string, hostKey []byte) *raproto.Request {
	nonce := make([]byte, raproto.NonceSize)
	rand.Read(nonce)
	return &raproto.Request{Version: 1, Mode: mode, Nonce: nonce, SessionID: bytes.Repeat([]byte{3}, 32), HostKey: hostKey}
}

// blockingAttester holds every attestation until release is closed.
type blockingAttester struct {
	started chan struct{}
	release chan struct{}
}

func (a *blockingAttester) Attest(ctx context.Context, v binding.Value) (string, error) {
	a.started <- struct{}{}
	<-a.release
	return tokenFor(v), nil
}

func TestFreshBusyWhenQueueFull(t *testing.T) {
	att := &blockingAttester{started: make(chan struct{}, 10), release: make(chan struct{})}
	f := &Fresh{Attester: att, MaxQueue: 1}
	s := &Server{HostKeys: [][]byte{[]byte("hk")}, Fresh: f, Logger: testLogger(t)}

	// One request runs, one waits: the queue is full.
	var wg sync.WaitGroup
	answers := make([]*raproto.Response, 2)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = s.Answer(context.Background(), testRequest(raproto.ModeFresh, []byte("hk")), 0)
		}()
	}
	<-att.started
	waitFor(t, "a waiting request", func() bool { return len(f.slots) == 2 })

	busy := s.Answer(context.Background(), testRequest(raproto.ModeFresh, []byte("hk")), 0)
	if busy.Status != raproto.StatusBusy || busy.RetryAfterMS != int(minRetryAfter.Milliseconds()) {
		t.Fatalf("third request: status %q retry %d ms, want busy after %d ms", busy.Status, busy.RetryAfterMS, minRetryAfter.Milliseconds())
	}
	if busy.Error != "agent busy: quote queue full" || busy.Token != "" {
		t.Fatalf("busy answer %+v", busy)
	}

	close(att.release)
	wg.Wait()
	for i, a := range answers {
		if a.Status != raproto.StatusOK || a.SessionBound {
			t.Fatalf("request %d: status %q bound %v", i, a.Status, a.SessionBound)
		}
	}
}

func TestFreshCancelWhileQueued(t *testing.T) {
	att := &blockingAttester{started: make(chan struct{}, 10), release: make(chan struct{})}
	f := &Fresh{Attester: att}
	go f.Token(context.Background(), binding.Value{})
	<-att.started

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := f.Token(ctx, binding.Value{1})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	close(att.release)
}

func TestUnboundModeMarksAnswers(t *testing.T) {
	att := &recordingAttester{}
	s := &Server{HostKeys: [][]byte{[]byte("hk")}, Fresh: &Fresh{Attester: att}, Logger: testLogger(t)}

	resp := s.Answer(context.Background(), testRequest(raproto.ModeFresh, []byte("hk")), 0)
	if resp.Status != raproto.StatusOK || resp.SessionBound {
		t.Fatalf("status %q bound %v, want ok and not session-bound", resp.Status, resp.SessionBound)
	}
	resp = s.Answer(context.Background(), testRequest(raproto.ModeFresh, []byte("other")), 0)
	if resp.Code != raproto.CodeWrongHostKey {
		t.Fatalf("unknown host key: code %q, want %q", resp.Code, raproto.CodeWrongHostKey)
	}
	resp = s.Answer(context.Background(), testRequest(raproto.ModeEpoch, []byte("hk")), 0)
	if resp.Code != raproto.CodeModeDisabled || resp.Error != "mode epoch is not served by this agent" {
		t.Fatalf("disabled mode: code %q error %q", resp.Code, resp.Error)
	}
	bad := testRequest(raproto.ModeFresh, []byte("hk"))
	bad.Nonce = bad.Nonce[:16]
	if resp = s.Answer(context.Background(), bad, 0); resp.Code != raproto.CodeBadRequest {
		t.Fatalf("short nonce: code %q, want %q", resp.Code, raproto.CodeBadRequest)
	}
}

func TestAttestationFailureAnswer(t *testing.T) {
	att := &recordingAttester{err: errors.New("token service unreachable")}
	s := &Server{HostKeys: [][]byte{[]byte("hk")}, Fresh: &Fresh{Attester: att},
		Epoch: &Epoch{Attester: att, HostKeys: [][]byte{[]byte("hk")}}, Logger: testLogger(t)}
	for _, mode := range []string{raproto.ModeFresh, raproto.ModeEpoch} {
		resp := s.Answer(context.Background(), testRequest(mode, []byte("hk")), 0)
		if resp.Status != raproto.StatusError || resp.Code != raproto.CodeAttestation {
			t.Fatalf("%s: status %q code %q, want %q", mode, resp.Status, resp.Code, raproto.CodeAttestation)
		}
	}
}

func TestEpochRotateAndRefresh(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 500, time.UTC)
	att := &recordingAttester{}
	hostKeys := [][]byte{[]byte("b"), []byte("a")}
	e := &Epoch{Attester: att, HostKeys: hostKeys, Period: 10 * time.Minute, TokenRefresh: 2 * time.Minute,
		Now: func() time.Time { return now }, Logger: testLogger(t)}
	if err := e.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}

	v := binding.Connect(make([]byte, 32), make([]byte, 32), []byte("a"))
	first, token, err := e.answer(v)
	if err != nil {
		t.Fatal(err)
	}
	wantNotAfter := time.Date(2026, 3, 1, 12, 12, 0, 0, time.UTC)
	if !first.NotAfter.Equal(wantNotAfter) {
		t.Fatalf("not-after %v, want %v (period plus refresh, whole seconds)", first.NotAfter, wantNotAfter)
	}
	if token != tokenFor(binding.Epoch(first.KAtt, hostKeys, wantNotAfter)) {
		t.Fatalf("token is not over binding.Epoch")
	}

	// Within the period, a step refreshes the token for the same K_att.
	now = now.Add(2 * time.Minute)
	if err := e.step(context.Background()); err != nil {
		t.Fatal(err)
	}
	second, _, _ := e.answer(v)
	if !bytes.Equal(second.KAtt, first.KAtt) || len(att.values) != 2 || att.values[0] != att.values[1] {
		t.Fatalf("refresh changed K_att or attested another value")
	}

	// After the period, a step rotates K_att.
	now = now.Add(8 * time.Minute)
	if err := e.step(context.Background()); err != nil {
		t.Fatal(err)
	}
	third, _, _ := e.answer(v)
	if bytes.Equal(third.KAtt, first.KAtt) {
		t.Fatal("K_att was not rotated after the period")
	}

	// Past not-after without a rotation, the agent stops answering.
	now = third.NotAfter
	if _, _, err := e.answer(v); err == nil || err.Error() != "epoch: K_att expired at 2026-03-01T12:22:00Z and was not rotated" {
		t.Fatalf("expired epoch: err = %v", err)
	}
}

func TestEpochRotateFailureKeepsEpoch(t *testing.T) {
	att := &recordingAttester{}
	e := &Epoch{Attester: att, HostKeys: [][]byte{[]byte("a")}, Logger: testLogger(t)}
	if err := e.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	before, _, _ := e.answer(binding.Value{})
	att.err = errors.New("quote failed")
	if err := e.Rotate(context.Background()); err == nil || err.Error() != "epoch: rotate: quote failed" {
		t.Fatalf("err = %v", err)
	}
	after, _, err := e.answer(binding.Value{})
	if err != nil || !bytes.Equal(after.KAtt, before.KAtt) {
		t.Fatalf("failed rotation replaced the epoch: %v", err)
	}
}

func TestEpochRunRotatesFirst(t *testing.T) {
	att := &recordingAttester{}
	e := &Epoch{Attester: att, HostKeys: [][]byte{[]byte("a")}, Logger: testLogger(t)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Run(ctx)
	waitFor(t, "the first rotation", func() bool {
		_, _, err := e.answer(binding.Value{})
		return err == nil
	})
}

// BenchmarkEpochAnswer measures the agent's work for one epoch-mode request
// without the transport: request checks, binding and one Ed25519 signature.
func BenchmarkEpochAnswer(b *testing.B) {
	e := &Epoch{Attester: &recordingAttester{}, HostKeys: [][]byte{[]byte("hk")}}
	if err := e.Rotate(context.Background()); err != nil {
		b.Fatal(err)
	}
	s := &Server{HostKeys: [][]byte{[]byte("hk")}, Epoch: e}
	req := testRequest(raproto.ModeEpoch, []byte("hk"))
	for b.Loop() {
		if resp := s.Answer(context.Background(), req, 0); resp.Status != raproto.StatusOK {
			b.Fatal(resp.Error)
		}
	}
}
