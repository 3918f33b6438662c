package client_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rassh/rassh/client"
	"github.com/rassh/rassh/client/raproto"
	"github.com/rassh/rassh/client/sshdtest"
	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/binding"
	"github.com/rassh/rassh/verifier/token"
)

// countingTokens is the real token verifier that counts full verifications.
type countingTokens struct {
	*token.Verifier
	calls atomic.Int32
}

func (c *countingTokens) VerifyRecord(ctx context.Context, raw, host string) (*verifier.Claims, token.Record, error) {
	c.calls.Add(1)
	return c.Verifier.VerifyRecord(ctx, raw, host)
}

// cacheFixture is a real issuer, a cache directory and a settable clock.
// Each process method call stands in for one rassh run: a new token
// verifier and a new TokenCache over the same directory.
type cacheFixture struct {
	issuer *sshdtest.Issuer
	dir    string
	now    time.Time
	// maxAge is the token verifier's MaxAge; zero means its default, 10m.
	maxAge time.Duration
}

var cacheIssuedAt = time.Now().UTC().Truncate(time.Second)

func newCacheFixture(t *testing.T) *cacheFixture {
	t.Helper()
	f := &cacheFixture{issuer: sshdtest.NewIssuer(t), dir: filepath.Join(t.TempDir(), "tokens"), now: cacheIssuedAt}
	f.issuer.IssuedAt = func() time.Time { return cacheIssuedAt }
	return f
}

func (f *cacheFixture) process() (*client.TokenCache, *countingTokens) {
	clock := func() time.Time { return f.now }
	tokens := &countingTokens{Verifier: &token.Verifier{Issuers: []token.IssuerConfig{f.issuer.Config("host-a")},
		MaxAge: f.maxAge, Now: clock}}
	return &client.TokenCache{Tokens: tokens, Dir: f.dir, Now: clock}, tokens
}

// sign returns a token over claims with userData as the binding value.
func (f *cacheFixture) sign(t *testing.T, userData binding.Value) string {
	t.Helper()
	raw, err := f.issuer.Sign(&verifier.Claims{TEE: "tdx", Platform: verifier.PlatformTDX, MRTD: make([]byte, 48),
		UserData: userData[:], Simulated: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// verifyOnce runs one process's verification and returns the claims and the
// number of full verifications it made.
func (f *cacheFixture) verifyOnce(t *testing.T, raw, host string) (*verifier.Claims, int32, error) {
	t.Helper()
	cache, tokens := f.process()
	claims, err := cache.Verify(context.Background(), raw, host)
	return claims, tokens.calls.Load(), err
}

func (f *cacheFixture) files(t *testing.T) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(f.dir, "token-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func wantTokenRejected(t *testing.T, err error, check string) {
	t.Helper()
	var rejected *verifier.RejectedError
	if !errors.As(err, &rejected) || rejected.Check != check {
		t.Fatalf("error %v, expected a rejection with check %q", err, check)
	}
}

func TestTokenCacheHitSkipsVerifier(t *testing.T) {
	f := newCacheFixture(t)
	raw := f.sign(t, binding.Value{1})

	first, calls, err := f.verifyOnce(t, raw, "host-a")
	if err != nil || calls != 1 {
		t.Fatalf("first run: error %v, %d verifications, expected 1", err, calls)
	}
	f.now = f.now.Add(5 * time.Minute)
	second, calls, err := f.verifyOnce(t, raw, "host-a")
	if err != nil || calls != 0 {
		t.Fatalf("second run: error %v, %d verifications, expected a hit", err, calls)
	}

	firstJSON, _ := json.Marshal(first)
	secondJSON, _ := json.Marshal(second)
	if string(firstJSON) != string(secondJSON) {
		t.Errorf("cached claims\n%s\ndiffer from verified claims\n%s", secondJSON, firstJSON)
	}
	if second.Issuer != f.issuer.URL || !second.IssuedAt.Equal(cacheIssuedAt) {
		t.Errorf("cached issuer %q iat %s, expected %q and %s", second.Issuer, second.IssuedAt, f.issuer.URL, cacheIssuedAt)
	}
}

func TestTokenCacheFileModes(t *testing.T) {
	f := newCacheFixture(t)
	if _, _, err := f.verifyOnce(t, f.sign(t, binding.Value{1}), "host-a"); err != nil {
		t.Fatal(err)
	}
	dirInfo, err := os.Stat(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	if dirInfo.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, expected 0700", dirInfo.Mode().Perm())
	}
	files := f.files(t)
	if len(files) != 1 {
		t.Fatalf("%d cache files, expected 1", len(files))
	}
	info, err := os.Stat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, expected 0600", info.Mode().Perm())
	}
}

func TestTokenCacheAgeRejected(t *testing.T) {
	f := newCacheFixture(t)
	raw := f.sign(t, binding.Value{1})
	if _, _, err := f.verifyOnce(t, raw, "host-a"); err != nil {
		t.Fatal(err)
	}
	// The maximum age is 10 minutes plus the leeway of one minute.
	f.now = cacheIssuedAt.Add(11*time.Minute + time.Second)
	_, _, err := f.verifyOnce(t, raw, "host-a")
	wantTokenRejected(t, err, token.CheckAge)
}

func TestTokenCacheExpiredRejected(t *testing.T) {
	f := newCacheFixture(t)
	f.maxAge = 2 * time.Hour
	raw := f.sign(t, binding.Value{1})
	if _, _, err := f.verifyOnce(t, raw, "host-a"); err != nil {
		t.Fatal(err)
	}
	// The issuer's tokens expire one hour after iat; the leeway is a minute.
	f.now = cacheIssuedAt.Add(time.Hour + time.Minute)
	_, _, err := f.verifyOnce(t, raw, "host-a")
	wantTokenRejected(t, err, token.CheckExpired)
}

func TestTokenCacheOtherHostRejected(t *testing.T) {
	f := newCacheFixture(t)
	raw := f.sign(t, binding.Value{1})
	if _, _, err := f.verifyOnce(t, raw, "host-a"); err != nil {
		t.Fatal(err)
	}
	_, _, err := f.verifyOnce(t, raw, "host-b")
	wantTokenRejected(t, err, token.CheckHostScope)
}

func TestTokenCacheRejectedNotStored(t *testing.T) {
	f := newCacheFixture(t)
	_, _, err := f.verifyOnce(t, f.sign(t, binding.Value{1}), "host-b")
	wantTokenRejected(t, err, token.CheckHostScope)
	if files := f.files(t); len(files) != 0 {
		t.Errorf("cache files %q after a rejection, expected none", files)
	}
}

func TestTokenCacheIgnoresBadFiles(t *testing.T) {
	cases := []struct {
		name   string
		change func(t *testing.T, dir, file string)
	}{
		{"garbage", func(t *testing.T, _, file string) { writeFile(t, file, []byte("{not json")) }},
		{"debug flag set", func(t *testing.T, _, file string) { replaceInFile(t, file, `"debug":false`, `"debug":true`) }},
		{"other iat in claims", func(t *testing.T, _, file string) {
			replaceInFile(t, file, `"issued_at":"`, `"issued_at":"1`)
		}},
		{"other token hash", func(t *testing.T, _, file string) { replaceInFile(t, file, `"token_sha256":"`, `"token_sha256":"00`) }},
		{"unknown field", func(t *testing.T, _, file string) { replaceInFile(t, file, `{"version":1,`, `{"version":1,"x":1,`) }},
		{"file readable by others", func(t *testing.T, _, file string) { chmod(t, file, 0o644) }},
		{"directory writable by group", func(t *testing.T, dir, _ string) { chmod(t, dir, 0o770) }},
		{"symbolic link", func(t *testing.T, dir, file string) {
			target := filepath.Join(dir, "elsewhere.json")
			if err := os.Rename(file, target); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, file); err != nil {
				t.Fatal(err)
			}
		}},
		{"too large", func(t *testing.T, _, file string) {
			replaceInFile(t, file, `"tee":"tdx"`, `"tee":"tdx","mr_owner":"`+strings.Repeat("00", 200<<10)+`"`)
		}},
		{"owned by another user", func(t *testing.T, _, file string) {
			if os.Getuid() != 0 {
				t.Skip("changing a file's owner needs root")
			}
			if err := os.Chown(file, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newCacheFixture(t)
			raw := f.sign(t, binding.Value{1})
			if _, _, err := f.verifyOnce(t, raw, "host-a"); err != nil {
				t.Fatal(err)
			}
			files := f.files(t)
			if len(files) != 1 {
				t.Fatalf("%d cache files, expected 1", len(files))
			}
			c.change(t, f.dir, files[0])

			claims, calls, err := f.verifyOnce(t, raw, "host-a")
			if err != nil {
				t.Fatalf("verify after the change: %v", err)
			}
			if calls != 1 {
				t.Errorf("%d verifications, expected the token verified again", calls)
			}
			if claims.Debug {
				t.Errorf("claims from the changed file were used")
			}
		})
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func replaceInFile(t *testing.T, path, old, replacement string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("cache file does not contain %q:\n%s", old, data)
	}
	writeFile(t, path, []byte(strings.Replace(string(data), old, replacement, 1)))
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestTokenCacheEviction(t *testing.T) {
	f := newCacheFixture(t)
	old := f.sign(t, binding.Value{0})
	if _, _, err := f.verifyOnce(t, old, "host-a"); err != nil {
		t.Fatal(err)
	}

	// Twenty minutes later the first token is past its maximum age.
	later := cacheIssuedAt.Add(20 * time.Minute)
	f.issuer.IssuedAt = func() time.Time { return later }
	f.now = later
	var fresh []string
	for i := range 4 {
		raw := f.sign(t, binding.Value{byte(i + 1)})
		fresh = append(fresh, raw)
		cache, _ := f.process()
		cache.MaxEntries = 3
		if _, err := cache.Verify(context.Background(), raw, "host-a"); err != nil {
			t.Fatal(err)
		}
	}

	if files := f.files(t); len(files) != 3 {
		t.Errorf("%d cache files, expected MaxEntries, 3", len(files))
	}
	_, calls, err := f.verifyOnce(t, fresh[3], "host-a")
	if err != nil || calls != 0 {
		t.Errorf("newest token: error %v, %d verifications, expected a hit", err, calls)
	}
	f.now = cacheIssuedAt
	_, calls, err = f.verifyOnce(t, old, "host-a")
	if err != nil || calls != 1 {
		t.Errorf("expired token: error %v, %d verifications, expected its file evicted", err, calls)
	}
}

func TestTokenCacheDisabled(t *testing.T) {
	f := newCacheFixture(t)
	raw := f.sign(t, binding.Value{1})
	for range 2 {
		cache, tokens := f.process()
		cache.Dir = ""
		if _, err := cache.Verify(context.Background(), raw, "host-a"); err != nil {
			t.Fatal(err)
		}
		if tokens.calls.Load() != 1 {
			t.Errorf("%d verifications, expected 1 without a directory", tokens.calls.Load())
		}
	}
	if _, err := os.Stat(f.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory stat: %v, expected it not created", err)
	}
}

// TestTokenCacheHitBindingChecked checks that a cached token still has to
// match the binding of the request at hand: a fresh-mode token replayed on
// another connection is rejected although its claims come from the cache.
func TestTokenCacheHitBindingChecked(t *testing.T) {
	f := newCacheFixture(t)
	hostKey := []byte("host key blob")
	request := func() *raproto.Request {
		nonce := make([]byte, 32)
		rand.Read(nonce)
		return &raproto.Request{Version: 1, Mode: raproto.ModeFresh, Nonce: nonce, SessionID: make([]byte, 32), HostKey: hostKey}
	}
	first := request()
	raw := f.sign(t, binding.Connect(first.Nonce, first.SessionID, first.HostKey))
	resp := &raproto.Response{Version: raproto.ProtocolVersion, Status: raproto.StatusOK, Mode: raproto.ModeFresh,
		SessionBound: true, Token: raw}

	verify := func(req *raproto.Request) (int32, error) {
		cache, tokens := f.process()
		v := &client.Verifier{Tokens: cache, Claims: client.DefaultClaimsPolicy{AllowSimulated: true},
			Policy: client.Policy{Mode: raproto.ModeFresh}, Now: func() time.Time { return f.now }}
		_, err := v.Verify(context.Background(), "host-a", req, resp)
		return tokens.calls.Load(), err
	}
	if _, err := verify(first); err != nil {
		t.Fatal(err)
	}
	calls, err := verify(request())
	if !errors.Is(err, client.ErrBinding) {
		t.Errorf("replayed token: %v, expected %v", err, client.ErrBinding)
	}
	if calls != 0 {
		t.Errorf("%d verifications, expected the token from the cache", calls)
	}
}
