package enroll

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/internal/boundedfile"
)

// HostKeys is the set of host public keys to enroll. Keys may come from
// sshd's HostKey files (KeyFiles) or from an in-memory keyring that never
// touches the disk; Public returns them in a stable order.
type HostKeys interface {
	Public() []ssh.PublicKey
}

// HostKeySigners is implemented by host key sets that hold their private
// keys, so that an enrollment proves possession of each key. Signers returns
// one signer per key of Public, in the same order, or nil when the private
// keys are not available.
type HostKeySigners interface {
	Signers() []ssh.Signer
}

// KeyList is a fixed list of host public keys.
type KeyList []ssh.PublicKey

// Public returns the keys.
func (k KeyList) Public() []ssh.PublicKey { return k }

// SignerList is a fixed list of host keys with their private keys.
type SignerList []ssh.Signer

// Public returns the public keys.
func (s SignerList) Public() []ssh.PublicKey {
	out := make([]ssh.PublicKey, len(s))
	for i, signer := range s {
		out[i] = signer.PublicKey()
	}
	return out
}

// Signers returns the signers.
func (s SignerList) Signers() []ssh.Signer { return s }

// KeyFiles are host keys read from sshd's HostKey files.
type KeyFiles struct {
	keys    []ssh.PublicKey
	signers []ssh.Signer
	// signerErr is why signers is nil: a private key file that could not be
	// read or parsed.
	signerErr error
}

// Public returns the public keys in the order of the configured paths.
func (k *KeyFiles) Public() []ssh.PublicKey { return k.keys }

// Signers returns the private keys when every private key file could be read
// and parsed, and nil otherwise.
func (k *KeyFiles) Signers() []ssh.Signer { return k.signers }

// SignerError returns why Signers is nil, or nil when it is not.
func (k *KeyFiles) SignerError() error { return k.signerErr }

// maxKeyFileSize bounds host key files: an RSA 16384-bit private key in
// OpenSSH format is under 13 KiB.
const maxKeyFileSize = 64 << 10

// LoadHostKeys reads the host keys named as in sshd_config's HostKey: for
// each path it reads path.pub, or derives the public key from the private key
// file when path.pub does not exist. A path ending in .pub names the public
// key file itself. It also reads the private keys (the paths without .pub)
// for the proof of possession; when one cannot be read or parsed, as for an
// agent that may not read them, the result has no signers and SignerError
// says why.
func LoadHostKeys(paths []string) (*KeyFiles, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("load host keys: no key files configured")
	}
	keys := make([]ssh.PublicKey, 0, len(paths))
	for _, p := range paths {
		key, err := loadHostKey(p)
		if err != nil {
			return nil, err
		}
		if _, isCert := key.(*ssh.Certificate); isCert {
			return nil, fmt.Errorf("load host key %s: is a certificate, expected a plain public key", p)
		}
		for _, k := range keys {
			if bytes.Equal(k.Marshal(), key.Marshal()) {
				return nil, fmt.Errorf("load host key %s: duplicate of another configured key", p)
			}
		}
		keys = append(keys, key)
	}
	signers, err := loadSigners(paths, keys)
	return &KeyFiles{keys: keys, signers: signers, signerErr: err}, nil
}

// loadSigners reads the private key of each path and checks that it belongs
// to the public key at the same position.
func loadSigners(paths []string, keys []ssh.PublicKey) ([]ssh.Signer, error) {
	signers := make([]ssh.Signer, len(paths))
	for i, p := range paths {
		privPath := strings.TrimSuffix(p, ".pub")
		data, err := readKeyFile(privPath)
		if err != nil {
			return nil, fmt.Errorf("load host private key: %w", err)
		}
		signer, err := ssh.ParsePrivateKey(data)
		clear(data)
		if err != nil {
			return nil, fmt.Errorf("load host private key %s: %w", privPath, err)
		}
		if !bytes.Equal(signer.PublicKey().Marshal(), keys[i].Marshal()) {
			return nil, fmt.Errorf("load host private key %s: does not match the public key %s", privPath, ssh.FingerprintSHA256(keys[i]))
		}
		signers[i] = signer
	}
	return signers, nil
}

func loadHostKey(path string) (ssh.PublicKey, error) {
	pubPath := strings.TrimSuffix(path, ".pub") + ".pub"
	data, err := readKeyFile(pubPath)
	if err == nil {
		key, _, _, _, err := ssh.ParseAuthorizedKey(data)
		if err != nil {
			return nil, fmt.Errorf("load host key %s: %w", pubPath, err)
		}
		return key, nil
	}
	if !os.IsNotExist(err) || strings.HasSuffix(path, ".pub") {
		return nil, fmt.Errorf("load host key: %w", err)
	}

	data, err = readKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("load host key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("load host key %s: %w", path, err)
	}
	return signer.PublicKey(), nil
}

// readKeyFile reads a host key or certificate file of at most maxKeyFileSize
// bytes.
func readKeyFile(path string) ([]byte, error) {
	return boundedfile.Read(path, maxKeyFileSize)
}

// CertPath returns where sshd expects the certificate of the host key at
// keyPath: the private key path (without .pub) plus "-cert.pub".
func CertPath(keyPath string) string {
	return strings.TrimSuffix(keyPath, ".pub") + "-cert.pub"
}

// CertPathIn returns the certificate path for an in-memory key in dir, named
// like sshd's default host keys: ssh_host_<type>_key-cert.pub.
func CertPathIn(dir string, key ssh.PublicKey) string {
	return filepath.Join(dir, "ssh_host_"+keyTypeName(key)+"_key-cert.pub")
}

func keyTypeName(key ssh.PublicKey) string {
	switch key.Type() {
	case ssh.KeyAlgoED25519:
		return "ed25519"
	case ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
		return "ecdsa"
	case ssh.KeyAlgoRSA:
		return "rsa"
	}
	return strings.NewReplacer("@", "_", ".", "_", "-", "_").Replace(key.Type())
}
