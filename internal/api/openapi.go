package api

import (
	_ "embed"
	"net/http"

	enumspb "go.temporal.io/api/enums/v1"
)

//go:embed openapi.json
var openAPI []byte

// OpenAPI is the API's OpenAPI 3 document.
func OpenAPI() []byte { return openAPI }

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPI)
}

// enumsReject: an application ID is used once; a resubmission with the same
// idempotency key finds the first application, running or closed.
const enumsReject = enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
