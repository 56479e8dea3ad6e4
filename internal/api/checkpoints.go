package api

import (
	"errors"
	"net/http"

	"github.com/daect/expectct/internal/audit"
	"github.com/daect/expectct/internal/checkpoint"
	"github.com/daect/expectct/internal/store"
)

// bodyLimits replace Server.MaxBodyBytes on the routes that take more: the
// exported checkpoints an auditor sends to verify against.
var bodyLimits = map[string]int64{"POST /v1/audit/verify": 256 << 20}

// verify checks the journals (one application's, or all) and the signed
// checkpoints. A POST carries checkpoints exported earlier and kept
// off-site (JSON lines, `expectct audit checkpoint export`): each must
// still be in the database, and what they sign is checked too, which
// catches a rewrite of the database that includes its checkpoints.
func (s *Server) verify(r *request) (int, any, error) {
	cp := &audit.Checkpoints{Keys: s.CheckpointKeys}
	if r.Method == http.MethodPost {
		list, err := checkpoint.ReadExport(r.Body)
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return 0, nil, problem(http.StatusBadRequest, "malformed", "Requête mal formée / Malformed request", "the exported checkpoints exceed the largest body this endpoint reads")
		case err != nil:
			return 0, nil, problem(http.StatusBadRequest, "malformed", "Requête mal formée / Malformed request", err.Error())
		}
		cp.Exported = list
		if cp.Exported == nil {
			cp.Exported = []store.Checkpoint{}
		}
	}
	rep, err := audit.VerifyWith(r.Context(), s.Temporal, s.Codec, s.Store, r.URL.Query().Get("application_id"), cp)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, rep, nil
}

// checkpoints lists every signed checkpoint, for keeping off-site.
func (s *Server) checkpoints(r *request) (int, any, error) {
	list, err := s.Store.Checkpoints(r.Context())
	if err != nil {
		return 0, nil, err
	}
	if list == nil {
		list = []store.Checkpoint{}
	}
	return http.StatusOK, list, nil
}
