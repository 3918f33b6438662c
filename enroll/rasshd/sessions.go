package rasshd

import (
	"bytes"
	"sync"
	"time"
)

// Session is one SSH connection as the HostKeyAgent saw it: the first
// exchange hash sshd had signed on one agent connection.
type Session struct {
	ID      []byte  // the session ID: the first exchange hash signed
	HostKey []byte  // the host key that signed it, SSH wire form
	SSHD    process // the sshd process that holds the agent connection
	Started time.Time
	Rekeys  int // later exchange hashes signed on the same agent connection
}

// Sessions records the live sessions. A session lives exactly as long as the
// agent connection that signed it.
type Sessions struct {
	mu     sync.Mutex
	byID   map[string]*Session
	byProc map[process][]*Session
}

// NewSessions returns an empty table.
func NewSessions() *Sessions {
	return &Sessions{byID: map[string]*Session{}, byProc: map[process][]*Session{}}
}

func (t *Sessions) add(s *Session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byID[string(s.ID)] = s
	t.byProc[s.SSHD] = append(t.byProc[s.SSHD], s)
}

func (t *Sessions) remove(s *Session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byID[string(s.ID)] == s {
		delete(t.byID, string(s.ID))
	}
	list := t.byProc[s.SSHD]
	for i, other := range list {
		if other == s {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(t.byProc, s.SSHD)
	} else {
		t.byProc[s.SSHD] = list
	}
}

func (t *Sessions) rekeyed(s *Session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s.Rekeys++
}

// Lookup returns a copy of the live session with the given ID.
func (t *Sessions) Lookup(id []byte) (Session, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.byID[string(id)]
	if !ok {
		return Session{}, false
	}
	return *s, true
}

// Len returns the number of live sessions.
func (t *Sessions) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byID)
}

// owner returns the first of procs that holds live sessions, and their IDs.
func (t *Sessions) owner(procs []process) (process, [][]byte, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range procs {
		list := t.byProc[p]
		if len(list) == 0 {
			continue
		}
		ids := make([][]byte, len(list))
		for i, s := range list {
			ids[i] = s.ID
		}
		return p, ids, true
	}
	return process{}, nil, false
}

func containsBlob(list [][]byte, b []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}
