package tokenissuer

import (
	"testing"
	"time"
)

func TestBucketRefills(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	b := newBucket(2, 3, func() time.Time { return now })

	for i := range 3 {
		if ok, _ := b.take(); !ok {
			t.Fatalf("take %d of the burst failed", i)
		}
	}
	ok, wait := b.take()
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("empty bucket: ok %v wait %s, want false 500ms", ok, wait)
	}

	now = now.Add(500 * time.Millisecond)
	if ok, _ := b.take(); !ok {
		t.Fatal("no token after 500 ms at 2 per second")
	}
	if ok, _ := b.take(); ok {
		t.Fatal("a second token after 500 ms at 2 per second")
	}

	now = now.Add(time.Hour)
	for i := range 3 {
		if ok, _ := b.take(); !ok {
			t.Fatalf("take %d after a long pause failed", i)
		}
	}
	if ok, _ := b.take(); ok {
		t.Fatal("the bucket held more than its burst")
	}
}
