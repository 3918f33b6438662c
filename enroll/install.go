package enroll

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"golang.org/x/crypto/ssh"
)

// WriteFileAtomic replaces path with data so that a reader sees either the
// old or the new content, never a mix: it writes a temporary file in the same
// directory, syncs it, renames it over path and syncs the directory.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename

	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// InstallCertificates writes each certificate to the path at the same index,
// as one OpenSSH certificate line, mode 0644.
func InstallCertificates(certs []*ssh.Certificate, paths []string) error {
	if len(certs) != len(paths) {
		return fmt.Errorf("install certificates: %d certificates for %d paths", len(certs), len(paths))
	}
	for i, cert := range certs {
		if err := WriteFileAtomic(paths[i], ssh.MarshalAuthorizedKey(cert), 0o644); err != nil {
			return fmt.Errorf("install certificate serial %d: %w", cert.Serial, err)
		}
	}
	return nil
}

// ReadCertificates reads the installed certificates at paths. It returns an
// error when any of them is missing or does not parse.
func ReadCertificates(paths []string) ([]*ssh.Certificate, error) {
	certs := make([]*ssh.Certificate, len(paths))
	for i, p := range paths {
		data, err := readKeyFile(p)
		if err != nil {
			return nil, fmt.Errorf("read certificate: %w", err)
		}
		cert, err := ParseCertificate(data)
		if err != nil {
			return nil, fmt.Errorf("read certificate %s: %w", p, err)
		}
		certs[i] = cert
	}
	return certs, nil
}

// defaultReloadTimeout bounds a reload command that sets no timeout.
const defaultReloadTimeout = 30 * time.Second

// Reloader runs the command that makes sshd load new certificates, for
// example ["systemctl", "reload", "ssh"] or ["kill", "-HUP", "1234"].
type Reloader struct {
	// Command is the program and its arguments, run without a shell. Empty
	// means no reload.
	Command []string
	// Timeout bounds the command. Zero means 30 seconds.
	Timeout time.Duration
}

// Reload runs the command and returns its combined output in the error when
// it fails.
func (r *Reloader) Reload(ctx context.Context) error {
	if len(r.Command) == 0 {
		return nil
	}
	timeout := r.Timeout
	if timeout == 0 {
		timeout = defaultReloadTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, r.Command[0], r.Command[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("reload command %q: %w: %s", r.Command, err, bytes.TrimSpace(out))
	}
	return nil
}
