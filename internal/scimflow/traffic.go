package scimflow

import "time"

// TrafficCount is the SCIM traffic of one token in one hour.
type TrafficCount struct {
	TokenID, OrgID string
	Hour           time.Time // truncated to the hour, UTC
	Requests       int64
	Errors         int64 // answers of status 400 and above
	LastAt         time.Time
}

// SCIMFailure is a SCIM request that failed, with the SCIM error it got.
type SCIMFailure struct {
	TokenID, OrgID string
	At             time.Time
	Method, Path   string
	Status         int
	SCIMType       string
	Detail         string
}

// TokenTraffic is a token's SCIM traffic over a window.
type TokenTraffic struct {
	Requests, Errors int64
	LastAt           *time.Time // the latest request recorded, nil for none
}
