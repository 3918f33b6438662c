package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rassh/rassh/client/sshdtest"
)

// TestVerifyTokenCacheAcrossRuns runs `rassh verify` three times against
// one epoch-mode agent, which serves the same token each time. The first
// run stores the token. The second takes it from the cache, so it fetches
// no key set and the key-set file removed before does not come back. The
// third finds the cache file readable by others, ignores it and verifies
// the token again, which fetches the key set.
func TestVerifyTokenCacheAcrossRuns(t *testing.T) {
	f := newFixture(t, sshdtest.Options{}, nil)
	cache := filepath.Join(filepath.Dir(f.config), "cache")
	verify := func(run string) {
		t.Helper()
		code, _, stderr := verifyRun(t, f)
		if code != exitOK {
			t.Fatalf("%s run: exit %d stderr %q", run, code, stderr)
		}
	}
	glob := func(pattern string) []string {
		t.Helper()
		names, err := filepath.Glob(filepath.Join(cache, pattern))
		if err != nil {
			t.Fatal(err)
		}
		return names
	}

	verify("first")
	tokens := glob("tokens/token-*.json")
	keySets := glob("jwks-*.json")
	if len(tokens) != 1 || len(keySets) != 1 {
		t.Fatalf("after the first run: token files %q, key-set files %q, expected one each", tokens, keySets)
	}
	if err := os.Remove(keySets[0]); err != nil {
		t.Fatal(err)
	}

	verify("second")
	if got := glob("jwks-*.json"); len(got) != 0 {
		t.Errorf("the second run fetched the key set (%q), expected the token from the cache", got)
	}

	if err := os.Chmod(tokens[0], 0o644); err != nil {
		t.Fatal(err)
	}
	verify("third")
	if got := glob("jwks-*.json"); len(got) != 1 {
		t.Errorf("the third run wrote key-set files %q, expected the token verified again", got)
	}
}

func verifyRun(t *testing.T, f *fixture) (int, string, string) {
	t.Helper()
	return run(t, "verify", "-F", f.config, "-p", f.host.Port(), "root@"+f.host.Name)
}

func TestVerifyTokenCacheOff(t *testing.T) {
	f := newFixture(t, sshdtest.Options{}, map[string]any{"token_cache": false})
	code, _, stderr := verifyRun(t, f)
	if code != exitOK {
		t.Fatalf("exit %d stderr %q", code, stderr)
	}
	names, err := filepath.Glob(filepath.Join(filepath.Dir(f.config), "cache", "tokens", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 0 {
		t.Errorf("token cache files %q with token_cache false, expected none", names)
	}
}
