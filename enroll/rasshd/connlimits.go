package rasshd

import "sync"

// connLimits counts the ra-ssh connections being served, in total and per
// peer user ID.
type connLimits struct {
	total, perUser int // the bounds

	mu     sync.Mutex
	served int
	byUser map[uint32]int
}

func newConnLimits(total, perUser int) *connLimits {
	if total <= 0 {
		total = 64
	}
	if perUser <= 0 {
		perUser = max(total/4, 1)
	}
	return &connLimits{total: total, perUser: perUser, byUser: map[uint32]int{}}
}

// acquire takes a slot for a connection of uid. It returns "" on success,
// or the reason why no slot is free.
func (l *connLimits) acquire(uid uint32) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.served >= l.total {
		return "too many connections"
	}
	if l.byUser[uid] >= l.perUser {
		return "too many connections from one user"
	}
	l.served++
	l.byUser[uid]++
	return ""
}

func (l *connLimits) release(uid uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.served--
	if l.byUser[uid]--; l.byUser[uid] == 0 {
		delete(l.byUser, uid)
	}
}
