package scimflow

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Each surface (SCIM, admin JSON, HTML) maps them to HTTP in
// exactly one place.
const (
	EINVALID      = "invalid"            // the request is malformed or a value is wrong (400)
	EUNAUTHORIZED = "unauthorized"       // missing, unknown, expired or revoked credentials (401)
	EFORBIDDEN    = "forbidden"          // authenticated, but not allowed (403)
	ENOTFOUND     = "not_found"          // no such resource in this org (404)
	ENOTALLOWED   = "method_not_allowed" // the method does not apply to the URL (405)
	ECONFLICT     = "conflict"           // a uniqueness rule would be broken (409)
	EPRECONDITION = "precondition"       // If-Match did not match (412)
	ETOOLARGE     = "too_large"          // body or result set over a limit (413)
	ERATELIMITED  = "rate_limited"       // too many requests for now; retry after RetryAfter (429)
	ENOTIMPL      = "not_implemented"    // a feature scimflow does not offer (501)
	EINTERNAL     = "internal"           // anything else; never shown to clients (500)
	EUNAVAILABLE  = "unavailable"        // a dependency failed transiently; retry (503)
)

// SCIM detail error types of RFC 7644 §3.12, table 9. They refine EINVALID
// and ECONFLICT for SCIM clients; other surfaces ignore them.
const (
	SCIMInvalidFilter = "invalidFilter"
	SCIMTooMany       = "tooMany"
	SCIMUniqueness    = "uniqueness"
	SCIMMutability    = "mutability"
	SCIMInvalidSyntax = "invalidSyntax"
	SCIMInvalidPath   = "invalidPath"
	SCIMNoTarget      = "noTarget"
	SCIMInvalidValue  = "invalidValue"
	SCIMInvalidVers   = "invalidVers"
	SCIMSensitive     = "sensitive"
	// Added by RFC 9865 §2.1 for cursor paging.
	SCIMInvalidCursor = "invalidCursor"
	SCIMExpiredCursor = "expiredCursor"
	SCIMInvalidCount  = "invalidCount"
)

// Error is the one error type of scimflow's domain. Message is safe to show
// to the client; internal causes are wrapped in Err and only logged.
type Error struct {
	Code     string // one of the E* constants
	SCIMType string // optional RFC 7644 scimType refinement
	Reason   string // optional machine-readable refinement for the admin API (plan_not_supported, ...)
	Message  string
	Err      error // underlying cause, never rendered
	// RetryAfter, for ERATELIMITED and EUNAVAILABLE, is when the client
	// may try again (the Retry-After header); 0 means one second.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// SCIMErrorf returns an EINVALID (or, for uniqueness, ECONFLICT) error
// refined with an RFC 7644 scimType.
func SCIMErrorf(scimType, format string, args ...any) *Error {
	code := EINVALID
	if scimType == SCIMUniqueness {
		code = ECONFLICT
	}
	return &Error{Code: code, SCIMType: scimType, Message: fmt.Sprintf(format, args...)}
}

// Forbidden returns an EFORBIDDEN error with an admin API reason code.
func Forbidden(reason, format string, args ...any) *Error {
	return &Error{Code: EFORBIDDEN, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Reasons for EFORBIDDEN on the admin API (DESIGN.md §3).
const (
	ReasonPlanNotSupported        = "plan_not_supported"
	ReasonSCIMGroupsDisabled      = "scim_groups_disabled"
	ReasonNotOrgAdmin             = "not_org_admin"
	ReasonSCIMIntegrationInactive = "scim_integration_inactive"
)

// Reasons for ECONFLICT on the admin API.
const (
	// ReasonMappingChanged: a conditional Update Group saw an older
	// mapping version than the group's.
	ReasonMappingChanged = "mapping_changed"
)

// ErrorCode returns the code of err, EINTERNAL for errors that are not *Error
// and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// RetryAfter returns how long a client should wait before retrying err,
// and false when retrying later does not help.
func RetryAfter(err error) (time.Duration, bool) {
	var e *Error
	if !errors.As(err, &e) || (e.Code != ERATELIMITED && e.Code != EUNAVAILABLE) {
		return 0, false
	}
	if e.RetryAfter <= 0 {
		return time.Second, true
	}
	return e.RetryAfter, true
}

// ErrorMessage returns the client-safe message of err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
