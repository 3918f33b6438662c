package ratelimit

import (
	"fmt"
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func TestBucketRefills(t *testing.T) {
	b := NewBucket(2, 3)
	now := t0
	for i := range 3 {
		if ok, _ := b.Take(now); !ok {
			t.Fatalf("take %d of the burst failed", i)
		}
	}
	ok, wait := b.Take(now)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("empty bucket: ok %v wait %s, want false 500ms", ok, wait)
	}

	now = now.Add(500 * time.Millisecond)
	if ok, _ := b.Take(now); !ok {
		t.Fatal("no token after 500 ms at 2 per second")
	}
	if ok, _ := b.Take(now); ok {
		t.Fatal("a second token after 500 ms at 2 per second")
	}

	now = now.Add(time.Hour)
	for i := range 3 {
		if ok, _ := b.Take(now); !ok {
			t.Fatalf("take %d after a long pause failed", i)
		}
	}
	if ok, _ := b.Take(now); ok {
		t.Fatal("the bucket held more than its burst")
	}
}

func TestBucketIgnoresClockGoingBack(t *testing.T) {
	b := NewBucket(1, 1)
	b.Take(t0.Add(time.Minute))
	if ok, _ := b.Take(t0); ok {
		t.Fatal("a token after the clock went back")
	}
	if ok, _ := b.Take(t0.Add(time.Minute + time.Second)); !ok {
		t.Fatal("no token one second after the last take")
	}
}

func TestKeyedSeparatesKeys(t *testing.T) {
	k := NewKeyed(1, 2, 10)
	for i := range 2 {
		if ok, _ := k.Take("a", t0); !ok {
			t.Fatalf("take %d of a's burst failed", i)
		}
	}
	ok, wait := k.Take("a", t0)
	if ok || wait != time.Second {
		t.Fatalf("a's empty bucket: ok %v wait %s, want false 1s", ok, wait)
	}
	if ok, _ := k.Take("b", t0); !ok {
		t.Fatal("b was limited by a's requests")
	}
	if ok, _ := k.Take("a", t0.Add(time.Second)); !ok {
		t.Fatal("a got no token after one second")
	}
}

func TestKeyedEvictsLeastRecentlyUsed(t *testing.T) {
	k := NewKeyed(1, 1, 3)
	for i := range 3 {
		k.Take(fmt.Sprint("key", i), t0)
	}
	k.Take("key0", t0) // key0 is now the most recently used, key1 the least
	k.Take("key3", t0)
	if n := k.Len(); n != 3 {
		t.Fatalf("Len = %d, want 3", n)
	}
	if ok, _ := k.Take("key0", t0); ok {
		t.Error("key0 was evicted although key1 was used less recently")
	}
	if ok, _ := k.Take("key1", t0); !ok {
		t.Error("key1 was kept although it was the least recently used")
	}
	if n := k.Len(); n != 3 {
		t.Fatalf("Len after eviction = %d, want 3", n)
	}
}

func TestKeyedMemoryBounded(t *testing.T) {
	k := NewKeyed(1, 1, 100)
	for i := range 10000 {
		k.Take(fmt.Sprint("10.0.", i/256, ".", i%256), t0)
	}
	if n := k.Len(); n != 100 {
		t.Fatalf("Len = %d after 10000 keys, want 100", n)
	}
}

func TestSourceKey(t *testing.T) {
	for _, c := range []struct{ addr, want string }{
		{"192.0.2.7:4431", "192.0.2.7"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:80", "2001:db8:1:2::/64"},
		{"[::ffff:192.0.2.7]:1", "192.0.2.7"},
		{"[fe80::1%eth0]:22", "fe80::/64"},
		{"[fe80::2:3%eth1]:22", "fe80::/64"},
		{"pipe", "pipe"},
	} {
		if got := SourceKey(c.addr); got != c.want {
			t.Errorf("SourceKey(%q) = %q, want %q", c.addr, got, c.want)
		}
	}
}

func TestBucketWaitTinyRate(t *testing.T) {
	// One token in 10^12 seconds is longer than time.Duration can hold.
	b := NewBucket(1e-12, 1)
	now := time.Unix(1000, 0)
	b.Take(now)
	ok, wait := b.Take(now)
	if ok {
		t.Fatal("second take succeeded, want the bucket empty")
	}
	if wait != time.Duration(math.MaxInt64) {
		t.Errorf("wait %v, want the maximum duration", wait)
	}
}

func TestRetryAfterRoundsUp(t *testing.T) {
	cases := []struct {
		wait time.Duration
		want string
	}{
		{0, "0"},
		{time.Millisecond, "1"},
		{time.Second, "1"},
		{1500 * time.Millisecond, "2"},
		{time.Duration(math.MaxInt64), "9223372037"},
	}
	for _, c := range cases {
		if got := RetryAfter(c.wait); got != c.want {
			t.Errorf("RetryAfter(%v) = %q, want %q", c.wait, got, c.want)
		}
	}
}
