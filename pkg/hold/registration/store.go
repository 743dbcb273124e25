package registration

import (
	"context"
	"fmt"
	"sync"

	indigooauth "github.com/bluesky-social/indigo/atproto/auth/oauth"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// maxPendingRequests bounds the authorization requests kept in memory: a
// pending registration starts one per reminder, possibly for weeks, and
// only the newest few can still be approved (a PDS drops a pushed request
// after minutes).
const maxPendingRequests = 8

// memoryStore is indigo's ClientAuthStore in memory. Nothing here needs
// to survive a restart: a restart while pending logs a new URL, and the
// session lives only from the callback until the records are written.
type memoryStore struct {
	mu       sync.Mutex
	requests map[string]indigooauth.AuthRequestData
	order    []string // states, oldest first
	sessions map[string]indigooauth.ClientSessionData
}

var _ indigooauth.ClientAuthStore = (*memoryStore)(nil)

func newMemoryStore() *memoryStore {
	return &memoryStore{
		requests: map[string]indigooauth.AuthRequestData{},
		sessions: map[string]indigooauth.ClientSessionData{},
	}
}

func sessionKey(did syntax.DID, id string) string { return did.String() + " " + id }

func (m *memoryStore) GetSession(_ context.Context, did syntax.DID, id string) (*indigooauth.ClientSessionData, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[sessionKey(did, id)]
	if !ok {
		return nil, fmt.Errorf("no OAuth session %s of %s", id, did)
	}
	return &s, nil
}

func (m *memoryStore) SaveSession(_ context.Context, s indigooauth.ClientSessionData) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[sessionKey(s.AccountDID, s.SessionID)] = s
	return nil
}

func (m *memoryStore) DeleteSession(_ context.Context, did syntax.DID, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, sessionKey(did, id))
	return nil
}

func (m *memoryStore) GetAuthRequestInfo(_ context.Context, state string) (*indigooauth.AuthRequestData, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.requests[state]
	if !ok {
		return nil, fmt.Errorf("unknown or expired authorization request (open the newest URL in the hold's log)")
	}
	return &r, nil
}

func (m *memoryStore) SaveAuthRequestInfo(_ context.Context, info indigooauth.AuthRequestData) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.requests[info.State]; !ok {
		m.order = append(m.order, info.State)
	}
	m.requests[info.State] = info
	for len(m.order) > maxPendingRequests {
		delete(m.requests, m.order[0])
		m.order = m.order[1:]
	}
	return nil
}

func (m *memoryStore) DeleteAuthRequestInfo(_ context.Context, state string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.requests, state)
	for i, s := range m.order {
		if s == state {
			m.order = append(m.order[:i], m.order[i+1:]...)
			break
		}
	}
	return nil
}
