package scimflow

import (
	"context"
	"time"
)

// Actor types of audit events.
const (
	ActorAdmin     = "admin"      // an Org Admin, through the admin UI or an admin token
	ActorSCIMToken = "scim_token" // an identity provider, through a named SCIM token
	ActorSystem    = "system"     // scimflow itself (recalculations, the CLI, schedules)
)

// Actor is who made a change.
type Actor struct {
	Type string // ActorAdmin, ActorSCIMToken or ActorSystem
	ID   string // the admin's user id or the token id; "" for the system
	Name string
}

// System is the actor of changes nobody requested through the API.
var System = Actor{Type: ActorSystem, Name: "scimflow"}

type actorKey struct{}

// WithActor returns ctx carrying the actor of the changes made with it.
// The API sets it once a request is authenticated; the store writes it
// into every audit event of the request.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor carried by ctx, System when none is.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok && a.Type != "" {
		return a
	}
	return System
}

// Audit event types (DESIGN.md §3).
const (
	EventMappingUpdated         = "mapping.updated"
	EventRecalculationCompleted = "recalculation.completed"
	EventRecalculationFailed    = "recalculation.failed"
	EventUserCreated            = "scim.user.created"
	EventUserUpdated            = "scim.user.updated"
	EventUserDeleted            = "scim.user.deleted"
	EventGroupCreated           = "scim.group.created"
	EventGroupUpdated           = "scim.group.updated"
	EventGroupDeleted           = "scim.group.deleted"
	EventMembersChanged         = "scim.group.members_changed"
	EventTokenCreated           = "token.created"
	EventTokenRevoked           = "token.revoked"
	EventEntryPointCreated      = "entry_point.created"
	EventEntryPointRenamed      = "entry_point.renamed"
	EventEntryPointDeleted      = "entry_point.deleted"
)

// EventTypes lists every audit event type.
func EventTypes() []string {
	return []string{EventMappingUpdated, EventRecalculationCompleted, EventRecalculationFailed,
		EventUserCreated, EventUserUpdated, EventUserDeleted,
		EventGroupCreated, EventGroupUpdated, EventGroupDeleted, EventMembersChanged,
		EventTokenCreated, EventTokenRevoked,
		EventEntryPointCreated, EventEntryPointRenamed, EventEntryPointDeleted}
}

// Target types of audit events.
const (
	TargetUser       = "user"
	TargetGroup      = "group"
	TargetToken      = "token"
	TargetEntryPoint = "entry_point"
)

// Target is what an audit event is about.
type Target struct {
	Type string
	ID   string
	Name string
}

// AuditEvent records one change that can move access or trust. It is
// written in the transaction of the change, so the trail has an event for
// every committed change and none for a change that rolled back.
type AuditEvent struct {
	ID      string
	OrgID   string
	Time    time.Time
	Type    string
	Actor   Actor
	Target  Target
	Details map[string]any
}

// AuditFilter selects audit events. Zero fields select everything.
type AuditFilter struct {
	Type    string
	ActorID string
	GroupID string // events about the group, its mapping and its recalculations
	UserID  string // events about the user, and membership changes naming them
	Since   time.Time
	Until   time.Time
	Cursor  string // from a previous page's NextCursor
	Limit   int
}

// Record queues an audit event of org about target for the transaction
// of the write that is filling q; the store writes it before committing.
func (q *Queued) Record(orgID, typ string, target Target, details map[string]any) {
	q.Events = append(q.Events, AuditEvent{OrgID: orgID, Type: typ, Target: target, Details: details})
}

// MappingVersion is one numbered mapping a group has had: what Update
// Group stored, by whom and when. Entry point names are as they were.
type MappingVersion struct {
	GroupID     string
	Version     int64
	CreatedAt   time.Time
	Actor       Actor
	EntryPoints []Mapping
}
