package api

import (
	"errors"
	"net/http"

	"github.com/daect/expectct/internal/dossier"
	"github.com/daect/expectct/internal/identity"
	"github.com/daect/expectct/internal/store"
)

func (s *Server) whoami(r *request) (int, any, error) {
	return http.StatusOK, r.caller.WhoAmI(s.SignIn), nil
}

func (s *Server) listPeople(r *request) (int, any, error) {
	people, err := s.Store.People(r.Context())
	if people == nil {
		people = []store.Person{}
	}
	return http.StatusOK, people, err
}

func (s *Server) readPerson(r *request) (int, any, error) {
	id, err := personID(r)
	if err != nil {
		return 0, nil, err
	}
	p, err := s.Store.Person(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil, errNotFound("no such person in the directory")
	}
	return http.StatusOK, p, err
}

// grant gives a person a role with its scope.
func (s *Server) grant(r *request) (int, any, error) {
	var in identity.GrantInput
	id, err := s.directoryChange(r, &in)
	if err != nil {
		return 0, nil, err
	}
	issuer := s.SignIn.Issuer
	if existing, err := s.Store.Person(r.Context(), id); err == nil {
		issuer = existing.Issuer
	}
	p := store.Person{ID: id, Issuer: issuer, Kind: string(identity.KindPerson), Name: in.Name, Email: in.Email}
	e, err := s.Store.GrantRole(r.Context(), r.actor.ID, p,
		store.Grant{Role: in.Role, SIREN: in.SIREN, Countries: in.Countries}, in.Reason)
	if err != nil {
		return 0, nil, err
	}
	s.Log.Info("role granted", "person", id, "role", in.Role, "actor", r.actor.ID, "directory_seq", e.Seq)
	return s.personAfter(r, id)
}

func (s *Server) revoke(r *request) (int, any, error) {
	var in identity.RevokeInput
	id, err := s.directoryChange(r, &in)
	if err != nil {
		return 0, nil, err
	}
	e, err := s.Store.RevokeRole(r.Context(), r.actor.ID, id, in.Role, in.Reason)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil, errNotFound(id + " does not hold the role " + in.Role)
	}
	if err != nil {
		return 0, nil, err
	}
	s.Log.Info("role revoked", "person", id, "role", in.Role, "actor", r.actor.ID, "directory_seq", e.Seq)
	return s.personAfter(r, id)
}

// directoryChange reads a grant or a revocation: the person's ID, the body
// decoded strictly and validated into in. An admin may not change their own
// roles: granting oneself the decider role would undo the four-eyes rule the
// directory exists to enforce.
func (s *Server) directoryChange(r *request, in any) (string, error) {
	id, err := personID(r)
	if err != nil {
		return "", err
	}
	if err := decode(r.Body, s.MaxBodyBytes, in); err != nil {
		return "", err
	}
	if err := dossier.ValidateStruct(in); err != nil {
		return "", err
	}
	if id == r.actor.ID {
		return "", errForbidden("un administrateur ne peut pas changer ses propres rôles / an admin may not change their own roles")
	}
	return id, nil
}

func (s *Server) personAfter(r *request, id string) (int, any, error) {
	p, err := s.Store.Person(r.Context(), id)
	return http.StatusOK, p, err
}

func (s *Server) directoryJournal(r *request) (int, any, error) {
	person := r.URL.Query().Get("person")
	if person != "" && !identity.PersonIDPattern.MatchString(person) {
		return 0, nil, badPersonID("person")
	}
	entries, err := s.Store.DirectoryJournal(r.Context(), person)
	if entries == nil {
		entries = []store.DirectoryEntry{}
	}
	return http.StatusOK, entries, err
}

func personID(r *request) (string, error) {
	id := r.PathValue("person")
	if !identity.PersonIDPattern.MatchString(id) {
		return "", badPersonID("person")
	}
	return id, nil
}

func badPersonID(field string) error {
	return &dossier.ValidationError{Kind: dossier.KindInvalid, Fields: []dossier.FieldError{{Field: field, Rule: "person_id",
		MessageFR: "Identifiant de personne invalide : lettres, chiffres et . _ @ : | + = - uniquement, 255 caractères au plus",
		MessageEN: "Invalid person ID: letters, digits and . _ @ : | + = - only, at most 255 characters"}}}
}
