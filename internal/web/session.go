package web

import (
	"crypto/sha256"
	"sync"
	"time"
)

// session is one signed-in user. Sessions live in memory, keyed by the SHA-256
// of their random id: the id itself is only in the user's cookie, so a memory
// dump or log line holds nothing that opens a session (docs/web.md says why
// memory rather than the database).
type session struct {
	user string
	// csrf is the token every state-changing form of the session carries.
	csrf string
	last time.Time
}

type sessions struct {
	mu   sync.Mutex
	m    map[[32]byte]*session
	idle time.Duration
	now  func() time.Time
}

func newSessions(idle time.Duration, now func() time.Time) *sessions {
	return &sessions{m: map[[32]byte]*session{}, idle: idle, now: now}
}

// create starts a session for user and returns its id, for the cookie.
func (s *sessions) create(user string) (id string, sess session) {
	id = newID(32)
	sess = session{user: user, csrf: newID(32), last: s.now()}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep()
	s.m[sha256.Sum256([]byte(id))] = &sess
	return id, sess
}

// get returns the session of id and marks it used, or false when there is none
// or it was idle longer than the timeout (it is ended then).
func (s *sessions) get(id string) (session, bool) {
	key := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[key]
	if !ok {
		return session{}, false
	}
	now := s.now()
	if now.Sub(sess.last) >= s.idle {
		delete(s.m, key)
		return session{}, false
	}
	sess.last = now
	return *sess, true
}

// end ends the session of id.
func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sha256.Sum256([]byte(id)))
}

// sweep drops idle sessions, so memory does not grow with abandoned ones;
// called with mu held.
func (s *sessions) sweep() {
	now := s.now()
	for k, v := range s.m {
		if now.Sub(v.last) >= s.idle {
			delete(s.m, k)
		}
	}
}
