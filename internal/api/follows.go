package api

import "net/http"

const followPath = "/v1/applications/{id}/follow"

// Following is whether the caller follows an application.
type Following struct {
	ApplicationID string `json:"application_id"`
	Following     bool   `json:"following"`
}

// follow, unfollow and following manage the caller's own follow of an
// application (DAECT's staff): each step recorded on it then e-mails them
// (the worker's activities read the followers), and their listing's
// followed=me finds it.
func (s *Server) follow(r *request) (int, any, error) {
	return s.setFollow(r, true)
}

func (s *Server) unfollow(r *request) (int, any, error) {
	return s.setFollow(r, false)
}

func (s *Server) setFollow(r *request, on bool) (int, any, error) {
	if err := s.inScope(r); err != nil {
		return 0, nil, err
	}
	change := s.Store.Unfollow
	if on {
		change = s.Store.Follow
	}
	if err := change(r.Context(), r.appID, r.actor.ID); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, Following{ApplicationID: r.appID, Following: on}, nil
}

func (s *Server) following(r *request) (int, any, error) {
	if err := s.inScope(r); err != nil {
		return 0, nil, err
	}
	yes, err := s.Store.IsFollowing(r.Context(), r.appID, r.actor.ID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, Following{ApplicationID: r.appID, Following: yes}, nil
}
