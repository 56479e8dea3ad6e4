package api

import (
	"testing"
	"time"

	"github.com/daect/expectct/internal/store"
)

// Roles as last read stand in for the fallback time only, and only for
// people already seen.
func TestLastKnownIsBounded(t *testing.T) {
	var k lastKnown
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	k.remember("iss claire", store.Person{ID: "claire", Grants: []store.Grant{{Role: "applicant", SIREN: "214401093"}}}, t0)
	if p, ok := k.recall("iss claire", t0.Add(time.Minute), 2*time.Minute); !ok || p.ID != "claire" || len(p.Grants) != 1 {
		t.Errorf("within the fallback: %+v %v", p, ok)
	}
	if _, ok := k.recall("iss claire", t0.Add(3*time.Minute), 2*time.Minute); ok {
		t.Error("recalled after the fallback time")
	}
	if _, ok := k.recall("iss jean", t0, 2*time.Minute); ok {
		t.Error("recalled a person never seen")
	}
	if _, ok := k.recall("other-iss claire", t0, 2*time.Minute); ok {
		t.Error("recalled the same subject under another issuer")
	}
}
