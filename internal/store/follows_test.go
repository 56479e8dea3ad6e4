package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
)

// recordApp records one application submitted at the given hour whose
// state holds deadlines due the given days after 2030-01-01 (none: no
// deadline).
func recordApp(t *testing.T, st *store.Store, id string, hour int, dueDays ...int) {
	t.Helper()
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	state := `{"deadlines":[`
	for i, d := range dueDays {
		if i > 0 {
			state += ","
		}
		// An offset other than UTC: the stored instant must not depend on it.
		state += fmt.Sprintf(`{"name":"d%d","due":%q}`, i, base.AddDate(0, 0, d).In(time.FixedZone("CET", 3600)).Format(time.RFC3339))
	}
	state += `]}`
	e := store.Entry{ApplicationID: id, Seq: 1, EventType: "submitted", Status: "submitted", ActorID: "a", ActorRole: "applicant",
		Payload: []byte(`{}`), OccurredAt: base.Add(time.Duration(hour) * time.Hour)}
	rm := store.ReadModel{Status: "submitted", SIREN: "213105554", Collectivite: "Ville", Country: "SN", MissionTitle: "M",
		Requested: 100, RulesVersion: "x", Dossier: []byte(`{}`), State: []byte(state)}
	if _, err := st.RecordTransition(context.Background(), e, rm, nil); err != nil {
		t.Fatal(err)
	}
}

// listAll pages through a listing two rows at a time, as a client would.
func listAll(t *testing.T, st *store.Store, f store.Filter) []string {
	t.Helper()
	f.Limit = 2
	var ids []string
	for {
		p, err := st.List(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range p.Items {
			ids = append(ids, a.ID)
		}
		if p.NextCursor == "" {
			return ids
		}
		f.Cursor = p.NextCursor
	}
}

// The listing's orders page through every row once, the deadline order
// putting the applications without a deadline last; the deadline filter
// reads the earliest of the state's deadlines; followed=me keeps the
// person's own follows.
func TestListOrdersFiltersAndFollows(t *testing.T) {
	st, _ := testenv.Database(t)
	ctx := context.Background()
	recordApp(t, st, "EXP-A", 1, 30, 3)
	recordApp(t, st, "EXP-B", 2)
	recordApp(t, st, "EXP-C", 3, 10)
	recordApp(t, st, "EXP-D", 4)
	recordApp(t, st, "EXP-E", 5, 1)

	for order, want := range map[store.Order][]string{
		store.OrderNewest:   {"EXP-E", "EXP-D", "EXP-C", "EXP-B", "EXP-A"},
		store.OrderOldest:   {"EXP-A", "EXP-B", "EXP-C", "EXP-D", "EXP-E"},
		store.OrderDeadline: {"EXP-E", "EXP-A", "EXP-C", "EXP-B", "EXP-D"},
	} {
		if got := listAll(t, st, store.Filter{Order: order}); !slices.Equal(got, want) {
			t.Errorf("order %s: %v, want %v", order, got, want)
		}
	}
	a, err := st.Application(ctx, "EXP-A")
	if err != nil || a.NextDeadline == nil || !a.NextDeadline.Equal(time.Date(2030, 1, 4, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("EXP-A's next deadline: %v, %v; want its earliest, 2030-01-04", a.NextDeadline, err)
	}
	within := store.Filter{Order: store.OrderDeadline, DeadlineBefore: time.Date(2030, 1, 5, 0, 0, 0, 0, time.UTC)}
	if got := listAll(t, st, within); !slices.Equal(got, []string{"EXP-E", "EXP-A"}) {
		t.Errorf("due by 2030-01-05: %v", got)
	}

	p, _ := st.List(ctx, store.Filter{Order: store.OrderDeadline, Limit: 1})
	if _, err := st.List(ctx, store.Filter{Order: store.OrderNewest, Cursor: p.NextCursor}); !errors.Is(err, store.ErrBadCursor) {
		t.Errorf("a deadline cursor in the newest order: %v, want ErrBadCursor", err)
	}

	for _, id := range []string{"EXP-C", "EXP-A", "EXP-C"} {
		if err := st.Follow(ctx, id, "luc"); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Follow(ctx, "EXP-NONE", "luc"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("following an unknown application: %v", err)
	}
	if got := listAll(t, st, store.Filter{FollowedBy: "luc"}); !slices.Equal(got, []string{"EXP-C", "EXP-A"}) {
		t.Errorf("followed by luc: %v", got)
	}
	if got := listAll(t, st, store.Filter{FollowedBy: "ines"}); len(got) != 0 {
		t.Errorf("followed by ines: %v", got)
	}
	if err := st.Unfollow(ctx, "EXP-C", "luc"); err != nil {
		t.Fatal(err)
	}
	if yes, err := st.IsFollowing(ctx, "EXP-C", "luc"); err != nil || yes {
		t.Errorf("still following after unfollow: %v %v", yes, err)
	}
	if yes, err := st.IsFollowing(ctx, "EXP-A", "luc"); err != nil || !yes {
		t.Errorf("not following EXP-A: %v %v", yes, err)
	}
}

// Followers are those who still hold a DAECT role and have an address.
func TestFollowersHoldARoleThatMayFollow(t *testing.T) {
	st, _ := testenv.Database(t)
	ctx := context.Background()
	recordApp(t, st, "EXP-A", 1)
	for _, p := range []struct{ id, email, role string }{
		{"luc", "luc@diplomatie.gouv.fr", "instructor"}, {"ines", "ines@diplomatie.gouv.fr", "decider"},
		{"aude", "aude@ccomptes.fr", "auditor"}, {"nomail", "", "instructor"},
	} {
		person := store.Person{ID: p.id, Issuer: "https://idp.example", Kind: "person", Email: p.email}
		if _, err := st.GrantRole(ctx, "admin", person, store.Grant{Role: p.role}, ""); err != nil {
			t.Fatal(err)
		}
		if err := st.Follow(ctx, "EXP-A", p.id); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.Followers(ctx, "EXP-A")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range got {
		ids = append(ids, f.ID)
	}
	if !slices.Equal(ids, []string{"ines", "luc"}) {
		t.Fatalf("followers %v, want ines and luc (aude is an auditor, nomail has no address)", ids)
	}
}
