package api

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/daect/expectct/internal/dossier"
)

// codecDecodePath is the codec server of Temporal's Web UI (its "Data
// Encoder" setting is the prefix, /v1/codec): it opens the sealed payloads of
// a history for an auditor or an admin. There is no /encode: a payload sealed
// for someone in a browser could be sent to a workflow as a step nobody
// checked, so the UI can read histories, never write to them.
const codecDecodePath = "/v1/codec/decode"

// decodePayloads answers Temporal's remote codec protocol: a JSON
// Payloads message in, the same opened out. Every opening is logged with
// who asked, for the record of who read personal data.
func (s *Server) decodePayloads(r *request) (int, any, error) {
	var in commonpb.Payloads
	body, err := io.ReadAll(r.Body) // bounded by MaxBodyBytes
	if err == nil {
		err = protojson.Unmarshal(body, &in)
	}
	if err != nil {
		return 0, nil, &dossier.ValidationError{Kind: dossier.KindMalformed, Fields: []dossier.FieldError{{Field: "payloads", Rule: "temporal_payloads",
			MessageFR: "Corps invalide : un message Payloads de Temporal en JSON est attendu (taille limitée par EXPECTCT_MAX_BODY_BYTES)",
			MessageEN: "Invalid body: a Temporal Payloads message in JSON is expected (size bounded by EXPECTCT_MAX_BODY_BYTES)"}}}
	}
	out := in.Payloads
	if s.Codec != nil {
		if out, err = s.Codec.Decode(in.Payloads); err != nil {
			return 0, nil, &dossier.ValidationError{Kind: dossier.KindInvalid, Fields: []dossier.FieldError{{Field: "payloads", Rule: "sealed",
				MessageFR: "Charge utile non scellée par nos clés ou altérée",
				MessageEN: "Payload not sealed with our keys, or altered"}}}
		}
	}
	raw, err := protojson.Marshal(&commonpb.Payloads{Payloads: out})
	if err != nil {
		return 0, nil, err
	}
	s.Log.Info("payloads opened for the Temporal UI", "actor", r.actor.ID, "role", r.actor.Role,
		"namespace", r.Header.Get("X-Namespace"), "payloads", len(out))
	return http.StatusOK, json.RawMessage(raw), nil
}

// codecCORS lets the Temporal Web UI's origins call the codec endpoint with
// the signed-in user's token; other origins get no CORS headers, so
// browsers keep their pages out.
func (s *Server) codecCORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && slices.Contains(s.CodecOrigins, origin) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Max-Age", "600")
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions {
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
