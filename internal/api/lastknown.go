package api

import (
	"sync"
	"time"

	"github.com/daect/expectct/internal/store"
)

// lastKnown keeps each caller's directory entry as last read from
// PostgreSQL, so that while the database is unreachable the people already
// seen keep the roles they had (for Server.DirectoryFallback at most) and
// may still submit or act: a step waits in Temporal for the database, a
// refusal would send them away. A revocation is read at once whenever the
// database answers; while it does not, nobody can revoke anyway.
type lastKnown struct {
	mu     sync.Mutex
	people map[string]knownPerson // by issuer and subject
}

type knownPerson struct {
	person store.Person
	at     time.Time
}

// maxKnown bounds the memory: the directory holds the programme's staff and
// applicants, far fewer.
const maxKnown = 50_000

func (k *lastKnown) remember(key string, p store.Person, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.people == nil || len(k.people) >= maxKnown {
		k.people = map[string]knownPerson{}
	}
	k.people[key] = knownPerson{person: p, at: now}
}

// recall returns the entry read within maxAge.
func (k *lastKnown) recall(key string, now time.Time, maxAge time.Duration) (store.Person, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.people[key]
	if !ok || now.Sub(e.at) > maxAge {
		return store.Person{}, false
	}
	return e.person, true
}
