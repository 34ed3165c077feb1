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

// HTTPStatus maps a domain error code to its HTTP status. It is the only
// such table for SCIM and admin surfaces alike.
func HTTPStatus(code string) int {
	switch code {
	case scimflow.EINVALID:
		return http.StatusBadRequest
	case scimflow.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case scimflow.EFORBIDDEN:
		return http.StatusForbidden
	case scimflow.ENOTFOUND:
		return http.StatusNotFound
	case scimflow.ENOTALLOWED:
		return http.StatusMethodNotAllowed
	case scimflow.ECONFLICT:
		return http.StatusConflict
	case scimflow.EPRECONDITION:
		return http.StatusPreconditionFailed
	case scimflow.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case scimflow.ENOTIMPL:
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}

// NewErrorResponse renders err for a SCIM client. Internal errors get a
// generic detail; their cause is for the log only.
func NewErrorResponse(err error) (int, ErrorResponse) {
	code := scimflow.ErrorCode(err)
	status := HTTPStatus(code)
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
	return status, body
}
