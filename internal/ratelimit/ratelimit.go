// Package ratelimit provides the token buckets that bound how often one client
// may call the CA's unauthenticated routes, and all clients together.
package ratelimit

import (
	"container/list"
	"math"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Bucket is a token bucket: it holds up to burst tokens, refills at rate
// tokens per second, and each request takes one. It is safe for concurrent
// use.
type Bucket struct {
	mu    sync.Mutex
	state bucketState
	rate  float64
	burst float64
}

type bucketState struct {
	tokens float64
	last   time.Time
}

// NewBucket returns a full bucket. rate must be positive and burst at
// least 1.
func NewBucket(rate float64, burst int) *Bucket {
	return &Bucket{rate: rate, burst: float64(burst), state: bucketState{tokens: float64(burst)}}
}

// Take takes a token at time now. When none is left it returns false and how
// long until one is.
func (b *Bucket) Take(now time.Time) (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state.take(now, b.rate, b.burst)
}

// RetryAfter returns wait rounded up to whole seconds, as the value of an
// HTTP Retry-After header.
func RetryAfter(wait time.Duration) string {
	return strconv.Itoa(int(math.Ceil(wait.Seconds())))
}

func (s *bucketState) take(now time.Time, rate, burst float64) (bool, time.Duration) {
	s.refill(now, rate, burst)
	if s.tokens >= 1 {
		s.tokens--
		return true, 0
	}
	// A tiny rate can give a wait beyond what time.Duration holds, whose
	// conversion would wrap to a negative value.
	wait := (1 - s.tokens) / rate * float64(time.Second)
	if wait >= math.MaxInt64 {
		return false, time.Duration(math.MaxInt64)
	}
	return false, time.Duration(wait)
}

func (s *bucketState) refill(now time.Time, rate, burst float64) {
	if !s.last.IsZero() && now.After(s.last) {
		s.tokens = math.Min(burst, s.tokens+now.Sub(s.last).Seconds()*rate)
	}
	if now.After(s.last) {
		s.last = now
	}
}

// Keyed is one token bucket per key (a client address), with at most maxKeys
// buckets in memory. It is safe for concurrent use.
type Keyed struct {
	rate    float64
	burst   float64
	maxKeys int

	mu      sync.Mutex
	buckets map[string]*list.Element // values are *keyedBucket
	recent  *list.List               // most recently used first
}

type keyedBucket struct {
	key   string
	state bucketState
}

// NewKeyed returns a limiter that gives each key a bucket of burst tokens
// refilled at rate per second. rate must be positive, burst and maxKeys at
// least 1.
func NewKeyed(rate float64, burst, maxKeys int) *Keyed {
	return &Keyed{rate: rate, burst: float64(burst), maxKeys: maxKeys, buckets: map[string]*list.Element{}, recent: list.New()}
}

// Take takes a token from key's bucket at time now. When none is left it
// returns false and how long until one is. A key seen for the first time gets
// a full bucket. When maxKeys buckets exist already, the least recently used
// one is dropped to make room.
//
// NOTE: a dropped key starts again with a full bucket, so a client that
// controls more than maxKeys addresses can reset its own buckets. A global
// Bucket in front of a Keyed bounds what such a client gets.
func (k *Keyed) Take(key string, now time.Time) (bool, time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	elem, ok := k.buckets[key]
	if ok {
		k.recent.MoveToFront(elem)
	} else {
		if k.recent.Len() >= k.maxKeys {
			oldest := k.recent.Back()
			k.recent.Remove(oldest)
			delete(k.buckets, oldest.Value.(*keyedBucket).key)
		}
		elem = k.recent.PushFront(&keyedBucket{key: key, state: bucketState{tokens: k.burst}})
		k.buckets[key] = elem
	}
	return elem.Value.(*keyedBucket).state.take(now, k.rate, k.burst)
}

// Len returns the number of buckets in memory.
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.recent.Len()
}

// SourceKey returns the key of a client address in http.Request.RemoteAddr
// form ("host:port"): the IPv4 address, or the /64 prefix of an IPv6
// address, because a site is commonly assigned at least a /64 and can use
// every address in it. The zone of a link-local address is dropped, so that
// fe80::1%eth0 and fe80::2%eth0 share one key. An address that does not
// parse is its own key.
func SourceKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	return netip.PrefixFrom(ip, 64).Masked().String()
}
