package client

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/token"
)

// tokenCacheVersion is the version field of the cache file format.
const tokenCacheVersion = 1

// maxTokenCacheFileSize bounds one cache file. A token is at most
// token.DefaultMaxSize (32 KiB), and by estimate its claims, decoded and
// hex-encoded again, take at most twice that.
const maxTokenCacheFileSize = 256 << 10

// Cache file names are "token-", the hex SHA-256 of the token, and ".json".
const (
	tokenFilePrefix = "token-"
	tokenFileSuffix = ".json"
)

// cachedTokenFile is the cache file format. MAC is HMAC-SHA256 over the
// exact bytes of Entry, keyed with the raw token, so that a file that was
// corrupted or edited by anyone who does not hold the token is ignored. It
// is no defense against the user's own processes, which can also rewrite
// the key-set cache and the configuration.
type cachedTokenFile struct {
	MAC   string          `json:"mac"`
	Entry json.RawMessage `json:"entry"`
}

// cachedToken is the entry of a cache file.
type cachedToken struct {
	Version     int              `json:"version"`
	TokenSHA256 string           `json:"token_sha256"`
	Record      token.Record     `json:"record"`
	Claims      *verifier.Claims `json:"claims"`
}

func (c *TokenCache) path(sum [32]byte) string {
	return filepath.Join(c.Dir, tokenFilePrefix+hex.EncodeToString(sum[:])+tokenFileSuffix)
}

// load reads the entry for raw, whose SHA-256 is sum. Any problem with the
// directory or the file makes it a miss.
func (c *TokenCache) load(raw string, sum [32]byte) (*cachedToken, bool) {
	if !c.dirPrivate() {
		return nil, false
	}
	file, entry, err := readCachedToken(c.path(sum))
	if err != nil || entry.TokenSHA256 != hex.EncodeToString(sum[:]) {
		return nil, false
	}
	mac, err := hex.DecodeString(file.MAC)
	if err != nil || !hmac.Equal(mac, entryMAC(raw, file.Entry)) {
		return nil, false
	}
	return entry, true
}

func entryMAC(raw string, entry []byte) []byte {
	h := hmac.New(sha256.New, []byte(raw))
	h.Write(entry)
	return h.Sum(nil)
}

// dirPrivate reports whether Dir is a directory that only the current user
// can write, read or list.
func (c *TokenCache) dirPrivate() bool {
	info, err := os.Stat(c.Dir)
	return err == nil && info.IsDir() && ownedPrivately(info)
}

// readCachedToken reads and checks one cache file. It must be a regular file
// (not a symbolic link) that the current user owns, with no group or other
// permissions, within the size bound and in the current format. Its claims
// must agree with its record on the issuer and iat. The caller checks the
// MAC, which needs the token.
func readCachedToken(path string) (*cachedTokenFile, *cachedToken, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !info.Mode().IsRegular() || !ownedPrivately(info) {
		return nil, nil, errors.New("token cache file " + path + " is not a private regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, maxTokenCacheFileSize+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > maxTokenCacheFileSize {
		return nil, nil, errors.New("token cache file " + path + " is too large")
	}

	var file cachedTokenFile
	var entry cachedToken
	if err := decodeStrict(data, &file); err != nil {
		return nil, nil, err
	}
	if err := decodeStrict(file.Entry, &entry); err != nil {
		return nil, nil, err
	}
	if entry.Version != tokenCacheVersion || entry.Claims == nil || entry.Claims.Issuer != entry.Record.Issuer ||
		!entry.Claims.IssuedAt.Equal(entry.Record.IssuedAt) {
		return nil, nil, errors.New("token cache file " + path + " is inconsistent")
	}
	return &file, &entry, nil
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// ownedPrivately reports whether the current user owns the file and no
// group or other permission bit is set.
func ownedPrivately(info os.FileInfo) bool {
	stat, ok := info.Sys().(*syscall.Stat_t)
	return ok && int(stat.Uid) == os.Getuid() && info.Mode().Perm()&0o077 == 0
}

// store writes the entry for a verified token, then evicts. A failure only
// costs a verification in a later process, so it is not reported.
func (c *TokenCache) store(raw string, sum [32]byte, record token.Record, claims *verifier.Claims, now time.Time) {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil || !c.dirPrivate() {
		return
	}
	entry, err := json.Marshal(cachedToken{Version: tokenCacheVersion, TokenSHA256: hex.EncodeToString(sum[:]),
		Record: record, Claims: claims})
	if err != nil {
		return
	}
	data, err := json.Marshal(cachedTokenFile{MAC: hex.EncodeToString(entryMAC(raw, entry)), Entry: entry})
	if err != nil || len(data) > maxTokenCacheFileSize {
		return
	}
	if writePrivateFile(c.path(sum), data) != nil {
		return
	}
	c.evict(now)
}

// writePrivateFile writes data to path atomically, with mode 0600: readers
// see the old file or the new one, never a part. It does not sync, because
// a file lost in a crash only costs one verification.
func writePrivateFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+tokenFilePrefix+"*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600 already; Chmod guards against a file
	// system that does otherwise.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// evict keeps the number of cache files bounded. Once there are more than
// MaxEntries, it removes the files that are unreadable or that
// Tokens.Recheck rejects at now for any reason but a not-yet-valid time,
// then, while more than three quarters of MaxEntries remain, those that
// expire first. Below the bound a miss only lists the directory, because
// reading and decoding every file would cost more than the verification
// the cache saves.
func (c *TokenCache) evict(now time.Time) {
	entries, err := os.ReadDir(c.Dir)
	if err != nil {
		return
	}
	var paths []string
	for _, de := range entries {
		name := de.Name()
		if strings.HasPrefix(name, tokenFilePrefix) && strings.HasSuffix(name, tokenFileSuffix) {
			paths = append(paths, filepath.Join(c.Dir, name))
		}
	}
	if len(paths) <= c.maxEntries() {
		return
	}

	type liveFile struct {
		path      string
		expiresAt time.Time
	}
	var live []liveFile
	for _, path := range paths {
		_, entry, err := readCachedToken(path)
		if err != nil || isStale(c.Tokens.Recheck(entry.Record, "", now)) {
			os.Remove(path)
			continue
		}
		live = append(live, liveFile{path, entry.Record.ExpiresAt})
	}
	if excess := len(live) - c.maxEntries()*3/4; excess > 0 {
		slices.SortFunc(live, func(a, b liveFile) int { return a.expiresAt.Compare(b.expiresAt) })
		for _, k := range live[:excess] {
			os.Remove(k.path)
		}
	}
}

// isStale reports whether err, from Recheck without a host, rejects the
// token for good: only a not-yet-valid token may pass later.
func isStale(err error) bool {
	var rejected *verifier.RejectedError
	return errors.As(err, &rejected) && rejected.Check != token.CheckNotYetValid
}
