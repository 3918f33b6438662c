package rasshd

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// ListenPrivate creates the HostKeyAgent socket: its directory is created if
// needed and must end up owned by this process's user with mode 0700, and the
// socket gets mode 0600. With the agent running as root, only root can reach
// it.
func ListenPrivate(path string) (*net.UnixListener, error) {
	if err := prepareDir(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	return listenUnix(path, 0o600, -1)
}

// ListenPublic creates the ra-ssh socket, which sshd connects to as the
// logged-in user: its directory gets mode 0755, the socket mode (0666 when
// gid is -1, so any local user can connect, or 0660 with group gid).
func ListenPublic(path string, gid int) (*net.UnixListener, error) {
	if err := prepareDir(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	mode := os.FileMode(0o666)
	if gid >= 0 {
		mode = 0o660
	}
	return listenUnix(path, mode, gid)
}

// prepareDir creates dir with mode, or checks that an existing dir is a real
// directory owned by this user, and sets its mode.
func prepareDir(dir string, mode os.FileMode) error {
	if err := os.MkdirAll(dir, mode); err != nil {
		return err
	}
	info, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if uid := fileOwner(info); uid != os.Getuid() {
		return fmt.Errorf("directory %s is owned by uid %d, expected %d", dir, uid, os.Getuid())
	}
	return os.Chmod(dir, mode)
}

func listenUnix(path string, mode os.FileMode, gid int) (*net.UnixListener, error) {
	if err := removeStaleSocket(path); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if gid >= 0 {
		if err := os.Chown(path, -1, gid); err != nil {
			l.Close()
			return nil, fmt.Errorf("listen on %s: %w", path, err)
		}
	}
	if err := os.Chmod(path, mode); err != nil {
		l.Close()
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	return l, nil
}

// removeStaleSocket removes a socket left by an earlier run, and refuses to
// remove anything that is not a socket.
func removeStaleSocket(path string) error {
	info, err := os.Lstat(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if info.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket", path)
	}
	return os.Remove(path)
}
