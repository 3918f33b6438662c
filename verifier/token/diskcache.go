package token

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// cachedKeySet is the file format of the on-disk key-set cache.
type cachedKeySet struct {
	Issuer    string          `json:"issuer"`
	JWKSURL   string          `json:"jwks_url"`
	FetchedAt time.Time       `json:"fetched_at"`
	KeySet    json.RawMessage `json:"key_set"`
}

// cachePath names the cache file of one issuer and key-set URL, so a changed
// configuration never reads another issuer's keys.
func (s *issuerState) cachePath(dir string) string {
	sum := sha256.Sum256([]byte(s.config.Issuer + "\n" + s.config.JWKSURL))
	return filepath.Join(dir, "jwks-"+hex.EncodeToString(sum[:16])+".json")
}

// loadFromDisk fills the cache from KeyCacheDir. The cache is only a
// shortcut: a file that is missing or unreadable, that another user owns or
// could have written, is ignored and the key set is fetched instead.
func (s *issuerState) loadFromDisk(v *Verifier) {
	if v.KeyCacheDir == "" {
		return
	}
	dirInfo, err := os.Stat(v.KeyCacheDir)
	if err != nil || !ownedPrivately(dirInfo, 0o022) {
		return
	}
	f, err := os.Open(s.cachePath(v.KeyCacheDir))
	if err != nil {
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() || !ownedPrivately(info, 0o077) {
		return
	}
	data, err := io.ReadAll(io.LimitReader(f, 2*maxKeySetSize))
	if err != nil {
		return
	}

	var cached cachedKeySet
	if json.Unmarshal(data, &cached) != nil || cached.Issuer != s.config.Issuer || cached.JWKSURL != s.config.JWKSURL {
		return
	}
	keys, err := parseKeySet(cached.KeySet)
	if err != nil {
		return
	}
	s.keys = keys
	s.fetchedAt = cached.FetchedAt
	s.lastAttempt = cached.FetchedAt
}

// ownedPrivately reports whether the current user owns the file and none of
// the permission bits in deny are set.
func ownedPrivately(info os.FileInfo, deny os.FileMode) bool {
	stat, ok := info.Sys().(*syscall.Stat_t)
	return ok && int(stat.Uid) == os.Getuid() && info.Mode().Perm()&deny == 0
}

// saveToDisk writes the key set atomically with owner-only permissions. A
// failure only costs a fetch in the next process, so it is not reported.
func (s *issuerState) saveToDisk(v *Verifier, keySet []byte) {
	if v.KeyCacheDir == "" {
		return
	}
	if err := os.MkdirAll(v.KeyCacheDir, 0o700); err != nil {
		return
	}
	data, err := json.Marshal(cachedKeySet{
		Issuer:    s.config.Issuer,
		JWKSURL:   s.config.JWKSURL,
		FetchedAt: s.fetchedAt.UTC(),
		KeySet:    json.RawMessage(keySet),
	})
	if err != nil {
		return
	}
	writeFileAtomic(s.cachePath(v.KeyCacheDir), data)
}

func writeFileAtomic(path string, data []byte) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".jwks-*")
	if err != nil {
		return
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600 already; Chmod guards against a umask
	// or file system that does otherwise.
	if tmp.Chmod(0o600) != nil {
		tmp.Close()
		return
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return
	}
	if tmp.Sync() != nil || tmp.Close() != nil {
		return
	}
	os.Rename(tmp.Name(), path)
}
