package scim

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// ErrorResponse is the body of a SCIM error (RFC 7644 §3.12). Status is a
// JSON string, as the RFC's examples show and as Entra ID expects.
type ErrorResponse struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	SCIMType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail,omitempty"`
}

// NewErrorResponse renders err, answered with HTTP status, for a SCIM
// client. Internal errors get a generic detail; their cause is for the log
// only.
func NewErrorResponse(status int, err error) ErrorResponse {
	code := scimflow.ErrorCode(err)
	body := ErrorResponse{Schemas: []string{ErrorURN}, Status: strconv.Itoa(status), Detail: scimflow.ErrorMessage(err)}
	var e *scimflow.Error
	if errors.As(err, &e) {
		body.SCIMType = e.SCIMType
	}
	if code == scimflow.EINVALID && body.SCIMType == "" {
		body.SCIMType = scimflow.SCIMInvalidValue
	}
	if status == http.StatusInternalServerError {
		body.Detail, body.SCIMType = "internal error", ""
	}
	return body
}
