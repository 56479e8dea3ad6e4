package e2e_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/daect/expectct/internal/identity"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
	"github.com/daect/expectct/internal/testenv"
)

// The people directory through the API: an admin grants a role before the
// person's first sign-in, the person acts in it, a revocation refuses their
// very next request, an admin may not change their own roles, bad grants
// are refused naming the field, and the auditor reads every change in the
// directory's hash-chained journal. A ProConnect siret makes an applicant
// only of a person the directory grants nothing.
func TestPeopleDirectory(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOptions{})
	admin, auditor := s.Token(testenv.Admin), s.Token(testenv.Auditor)
	const marie = "marie.durand"

	r := apiCall(t, s, admin, "POST", "/v1/people/"+marie+"/grants", map[string]any{
		"role": "instructor", "name": "Marie Durand", "email": "marie.durand@diplomatie.gouv.fr", "reason": "arrivée au bureau DAECT"})
	var p store.Person
	r.JSON(t, &p)
	if r.Status != http.StatusOK || p.ID != marie || p.Name != "Marie Durand" || len(p.Grants) != 1 || p.Grants[0].Role != "instructor" || p.Grants[0].GrantedBy != testenv.Admin.ID {
		t.Fatalf("grant before first sign-in: %d %s", r.Status, r.Body)
	}

	token := testenv.SignIn(t, s.OIDC, marie)
	var me identity.WhoAmI
	r = apiCall(t, s, token, "GET", "/v1/me", nil)
	r.JSON(t, &me)
	if r.Status != http.StatusOK || me.Person.ID != marie || me.Kind != identity.KindPerson || len(me.Actors) != 1 || me.Actors[0].Role != lifecycle.RoleInstructor {
		t.Fatalf("whoami: %d %s", r.Status, r.Body)
	}
	if me.SignIn.Issuer != s.OIDC.Issuer() || me.SignIn.ClientID != testenv.ClientID {
		t.Errorf("whoami sign-in settings: %+v", me.SignIn)
	}
	if r := apiCall(t, s, token, "GET", "/v1/applications", nil); r.Status != http.StatusOK {
		t.Fatalf("instructor lists applications: %d %s", r.Status, r.Body)
	}

	// Revoked: refused at the next request, the same token in hand.
	r = apiCall(t, s, admin, "POST", "/v1/people/"+marie+"/revocations", map[string]any{"role": "instructor", "reason": "départ"})
	if r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if r := apiCall(t, s, token, "GET", "/v1/applications", nil); r.Status != http.StatusForbidden {
		t.Errorf("list after revocation: %d, want 403: %s", r.Status, r.Body)
	}
	if r := apiCall(t, s, admin, "POST", "/v1/people/"+marie+"/revocations", map[string]any{"role": "instructor"}); r.Status != http.StatusNotFound {
		t.Errorf("revoking a role not held: %d, want 404: %s", r.Status, r.Body)
	}

	// An admin may not change their own roles; others may not grant at all.
	if r := apiCall(t, s, admin, "POST", "/v1/people/"+testenv.Admin.ID+"/grants", map[string]any{"role": "decider"}); r.Status != http.StatusForbidden {
		t.Errorf("admin granting themself: %d, want 403: %s", r.Status, r.Body)
	}
	if r := apiCall(t, s, auditor, "POST", "/v1/people/"+marie+"/grants", map[string]any{"role": "decider"}); r.Status != http.StatusForbidden {
		t.Errorf("auditor granting: %d, want 403: %s", r.Status, r.Body)
	}
	for _, bad := range []struct {
		body  any
		field string
	}{
		{map[string]any{"role": "pope"}, "role"},
		{map[string]any{"role": "applicant"}, "siren"},
		{map[string]any{"role": "embassy"}, "countries"},
		{map[string]any{"role": "instructor", "countries": []string{"SN"}}, "countries"},
		{map[string]any{"role": "embassy", "countries": []string{"sn"}}, "countries[0]"},
		{map[string]any{"role": "instructor", "reason": "a\u0000b"}, "reason"},
	} {
		r := apiCall(t, s, admin, "POST", "/v1/people/"+marie+"/grants", bad.body)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), `"`+bad.field+`"`) {
			t.Errorf("grant %v: %d, want 422 naming %s: %s", bad.body, r.Status, bad.field, r.Body)
		}
	}
	if r := apiCall(t, s, admin, "POST", "/v1/people/"+marie+"/grants", `{"role":"instructor","Role":"decider"}`); r.Status != http.StatusBadRequest {
		t.Errorf("case-folded duplicate key: %d, want 400: %s", r.Status, r.Body)
	}
	if r := apiCall(t, s, admin, "POST", "/v1/people/bad%20id/grants", map[string]any{"role": "instructor"}); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("bad person ID: %d, want 422: %s", r.Status, r.Body)
	}

	// The auditor reads the directory and its journal, chained.
	var people []store.Person
	r = apiCall(t, s, auditor, "GET", "/v1/people", nil)
	r.JSON(t, &people)
	if r.Status != http.StatusOK || !slices.ContainsFunc(people, func(p store.Person) bool { return p.ID == marie && len(p.Grants) == 0 }) {
		t.Errorf("people as auditor: %d %s", r.Status, r.Body)
	}
	var journal []store.DirectoryEntry
	r = apiCall(t, s, auditor, "GET", "/v1/directory/journal?person="+marie, nil)
	r.JSON(t, &journal)
	if r.Status != http.StatusOK || len(journal) != 2 ||
		journal[0].Action != "grant" || journal[0].ActorID != testenv.Admin.ID || journal[0].Reason != "arrivée au bureau DAECT" ||
		journal[1].Action != "revoke" || journal[1].Role != "instructor" || journal[1].Reason != "départ" {
		t.Fatalf("directory journal of %s: %d %s", marie, r.Status, r.Body)
	}
	var all []store.DirectoryEntry
	apiCall(t, s, auditor, "GET", "/v1/directory/journal", nil).JSON(t, &all)
	for i := 1; i < len(all); i++ {
		if all[i].PrevHash != all[i-1].Hash || all[i].Seq != all[i-1].Seq+1 {
			t.Errorf("journal chain broken at seq %d: prev_hash %s, previous hash %s", all[i].Seq, all[i].PrevHash, all[i-1].Hash)
		}
	}
	if r := apiCall(t, s, token, "GET", "/v1/directory/journal", nil); r.Status != http.StatusForbidden {
		t.Errorf("journal read by a person without a role: %d, want 403", r.Status)
	}

	// ProConnect's siret: an applicant for its SIREN while the directory
	// grants nothing; a granted role replaces it.
	claims := testenv.PersonClaims(s.OIDC, "agent.mairie")
	claims["siret"] = "21440109300015"
	withSiret := testenv.ForgeToken(t, s.OIDC, claims)
	apiCall(t, s, withSiret, "GET", "/v1/me", nil).JSON(t, &me)
	if len(me.Actors) != 1 || me.Actors[0].Role != lifecycle.RoleApplicant || me.Actors[0].SIREN != "214401093" {
		t.Errorf("person with a siret claim: %+v", me.Actors)
	}
	if r := apiCall(t, s, admin, "POST", "/v1/people/agent.mairie/grants", map[string]any{"role": "embassy", "countries": []string{"SN"}}); r.Status != http.StatusOK {
		t.Fatalf("grant embassy: %d %s", r.Status, r.Body)
	}
	apiCall(t, s, withSiret, "GET", "/v1/me", nil).JSON(t, &me)
	if len(me.Actors) != 1 || me.Actors[0].Role != lifecycle.RoleEmbassy {
		t.Errorf("person with a siret claim and a grant: %+v, want the embassy role only", me.Actors)
	}
}
