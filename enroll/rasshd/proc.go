package rasshd

import (
	"bytes"
	"fmt"
	"net"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/rassh/rassh/internal/boundedfile"
)

// procRoot is the mount point of the proc file system.
const procRoot = "/proc"

// maxStatSize bounds /proc/PID/stat, whose command name is at most 16 bytes
// and whose 52 numeric fields are at most 20 digits each.
const maxStatSize = 4 << 10

// process identifies a process across PID reuse: a PID together with its
// start time in clock ticks since boot (field 22 of /proc/PID/stat).
type process struct {
	PID       int
	StartTime uint64
}

// processStat contains the fields this package reads from /proc/PID/stat.
type processStat struct {
	PPID      int
	StartTime uint64
}

// peerCredentials returns the credentials of the process at the other end of
// a Unix socket connection, as the kernel recorded them at connect time.
func peerCredentials(c *net.UnixConn) (*unix.Ucred, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var credErr error
	err = raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err == nil {
		err = credErr
	}
	if err != nil {
		return nil, fmt.Errorf("peer credentials: %w", err)
	}
	return cred, nil
}

// readProcessStat reads the parent PID and start time of pid.
func readProcessStat(pid int) (*processStat, error) {
	data, err := boundedfile.Read(fmt.Sprintf("%s/%d/stat", procRoot, pid), maxStatSize)
	if err != nil {
		return nil, fmt.Errorf("read process %d: %w", pid, err)
	}
	st, err := parseProcessStat(data)
	if err != nil {
		return nil, fmt.Errorf("read process %d: %w", pid, err)
	}
	return st, nil
}

// parseProcessStat parses the format of proc(5): "pid (comm) state ppid ...".
// The command name may contain spaces and parentheses, so fields are counted
// from the last ')'.
func parseProcessStat(data []byte) (*processStat, error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return nil, fmt.Errorf("invalid stat: no command name")
	}
	// Fields after the command name start with field 3 (state).
	fields := bytes.Fields(data[end+1:])
	const ppidField, startTimeField = 4, 22
	if len(fields) < startTimeField-2 {
		return nil, fmt.Errorf("invalid stat: %d fields after the command name, expected at least %d", len(fields), startTimeField-2)
	}
	ppid, err := strconv.Atoi(string(fields[ppidField-3]))
	if err != nil {
		return nil, fmt.Errorf("invalid stat: parent PID: %w", err)
	}
	start, err := strconv.ParseUint(string(fields[startTimeField-3]), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("invalid stat: start time: %w", err)
	}
	return &processStat{PPID: ppid, StartTime: start}, nil
}

// identifyProcess returns pid with its current start time.
func identifyProcess(pid int) (process, error) {
	st, err := readProcessStat(pid)
	if err != nil {
		return process{}, err
	}
	return process{PID: pid, StartTime: st.StartTime}, nil
}

// maxAncestors bounds the walk up the process tree. From the responder to
// sshd's per-connection privileged process there are at most four steps
// (responder, login shell, session sshd, privileged sshd).
const maxAncestors = 16

// ancestors returns pid and its ancestors, nearest first, up to but not
// including PID 1, each with its start time. A process that exits during the
// walk ends it.
func ancestors(pid int) []process {
	var out []process
	for i := 0; i < maxAncestors && pid > 1; i++ {
		st, err := readProcessStat(pid)
		if err != nil {
			break
		}
		out = append(out, process{PID: pid, StartTime: st.StartTime})
		pid = st.PPID
	}
	return out
}
