package identity

import (
	"regexp"
	"slices"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/lifecycle"
	"github.com/daect/expectct/internal/store"
)

// Caller is a signed-in identity with what the directory says of it.
type Caller struct {
	Principal Principal
	Person    store.Person
}

// precedence orders a caller's roles when several allow the same action
// (reading, listing): the broadest scope acts.
var precedence = []lifecycle.Role{lifecycle.RoleAdmin, lifecycle.RoleAuditor, lifecycle.RoleDecider,
	lifecycle.RoleInstructor, lifecycle.RoleFinance, lifecycle.RoleEmbassy, lifecycle.RoleApplicant}

// Actors are the roles the caller may act in, by precedence. Every role
// comes from the directory, except one: a person the directory grants
// nothing acts as an applicant for the SIREN of ProConnect's siret claim,
// so a collectivité's agent can apply without waiting for DAECT.
func (c Caller) Actors() []lifecycle.Actor {
	var actors []lifecycle.Actor
	for _, role := range precedence {
		i := slices.IndexFunc(c.Person.Grants, func(g store.Grant) bool { return g.Role == string(role) })
		if i < 0 {
			continue
		}
		g := c.Person.Grants[i]
		actors = append(actors, lifecycle.Actor{ID: c.Person.ID, Role: role, SIREN: g.SIREN, Countries: g.Countries})
	}
	if len(actors) == 0 && c.Principal.Kind == KindPerson {
		if siren, ok := SIRENOf(c.Principal.SIRET); ok {
			actors = append(actors, lifecycle.Actor{ID: c.Person.ID, Role: lifecycle.RoleApplicant, SIREN: siren})
		}
	}
	return actors
}

// ActorFor is the actor the caller acts as for the action: the first of
// its roles that the action allows.
func (c Caller) ActorFor(action lifecycle.Action) (lifecycle.Actor, bool) {
	for _, a := range c.Actors() {
		if lifecycle.Allows(a.Role, action) {
			return a, true
		}
	}
	return lifecycle.Actor{ID: c.Person.ID}, false
}

var siretPattern = regexp.MustCompile(`^[0-9]{14}$`)

// SIRENOf is the SIREN of a SIRET: its first nine digits, when the SIRET is
// fourteen digits and the SIREN's checksum holds.
func SIRENOf(siret string) (string, bool) {
	if !siretPattern.MatchString(siret) || !dossier.ValidSIREN(siret[:9]) {
		return "", false
	}
	return siret[:9], true
}

// PersonIDPattern is what a person ID (the provider's subject) may look
// like in a URL or a grant: no spaces, no control characters.
var PersonIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@:|+=-]{0,254}$`)

// GrantInput is an admin's grant of a role to a person, with its scope.
type GrantInput struct {
	Role      string   `json:"role" validate:"required,oneof=applicant embassy instructor decider finance auditor admin"`
	SIREN     string   `json:"siren,omitempty" validate:"required_if=Role applicant,excluded_unless=Role applicant,omitempty,siren"`
	Countries []string `json:"countries,omitempty" validate:"required_if=Role embassy,excluded_unless=Role embassy,omitempty,max=50,dive,iso3166_1_alpha2,uppercase"`
	// Name and E-mail describe a person not seen yet; their first sign-in
	// replaces them with the provider's.
	Name   string `json:"name,omitempty" validate:"max=200"`
	Email  string `json:"email,omitempty" validate:"omitempty,email,max=254"`
	Reason string `json:"reason,omitempty" validate:"max=1000"`
}

// RevokeInput is an admin's revocation of a role.
type RevokeInput struct {
	Role   string `json:"role" validate:"required,oneof=applicant embassy instructor decider finance auditor admin"`
	Reason string `json:"reason,omitempty" validate:"max=1000"`
}

// SignIn is where expectct's users sign in: the issuer and the public client
// ID of expectct's own applications (GET /v1/auth/config).
type SignIn struct {
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
}

// WhoAmI is a caller as the API sees them: the directory entry and the roles
// they may act in now.
type WhoAmI struct {
	Person store.Person      `json:"person"`
	Kind   Kind              `json:"kind"`
	Actors []lifecycle.Actor `json:"actors"`
	SIRET  string            `json:"siret,omitempty"`
	SignIn SignIn            `json:"sign_in"`
}

// WhoAmI describes the caller.
func (c Caller) WhoAmI(si SignIn) WhoAmI {
	w := WhoAmI{Person: c.Person, Kind: c.Principal.Kind, Actors: c.Actors(), SIRET: c.Principal.SIRET, SignIn: si}
	if w.Actors == nil {
		w.Actors = []lifecycle.Actor{}
	}
	if w.Person.Grants == nil {
		w.Person.Grants = []store.Grant{}
	}
	return w
}
