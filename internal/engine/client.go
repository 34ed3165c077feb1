// Package engine is the client side of the recalculation engine:
// scimflow's Temporal client. It starts and signals the workflows of
// package workflows when a committed write queued work, reads their live
// progress, and sets up what they need on the server (search attributes,
// the daily reconciliation schedule).
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/workflows"
)

// Client is scimflow's Temporal client. It implements store.Notifier (cmd
// wires it into the store's write path), the API's live progress, and the
// sweeper's and reconcile command's calls.
type Client struct {
	Temporal client.Client
	// TaskQueue is where every workflow this client starts runs, and
	// what its schedules start on; "": workflows.DefaultTaskQueue.
	TaskQueue string
	BatchSize int // users per activity; 0: workflows.DefaultBatchSize
	// HeartbeatTimeout of group batches; 0: workflows.DefaultHeartbeatTimeout.
	HeartbeatTimeout time.Duration
	// Lanes is how many batches of a group pass run side by side; 0:
	// workflows.DefaultLanes.
	Lanes  int
	Logger *slog.Logger // nil: slog.Default()

	// NotifyTimeout bounds how long a committed write waits for Temporal
	// (0: DefaultNotifyTimeout). After a failed notification, the next
	// ones are skipped for NotifyBackoff (0: DefaultNotifyBackoff): while
	// Temporal is down, writes answer at once and the sweeper delivers
	// their work when it is back.
	NotifyTimeout time.Duration
	NotifyBackoff time.Duration

	downUntil atomic.Int64 // unix nanoseconds; notifications are skipped before it
}

// Defaults of Client's notification bounds.
const (
	DefaultNotifyTimeout = 2 * time.Second
	DefaultNotifyBackoff = 10 * time.Second
)

func (e *Client) taskQueue() string {
	if e.TaskQueue == "" {
		return workflows.DefaultTaskQueue
	}
	return e.TaskQueue
}

func (e *Client) logger() *slog.Logger {
	if e.Logger == nil {
		return slog.Default()
	}
	return e.Logger
}

// Committed hands the work a committed write queued to Temporal. The
// commit is the promise: the work is in the database already, so this is
// best effort, bounded by NotifyTimeout, and skipped while Temporal was
// recently unreachable; the sweeper hands over whatever it did not
// deliver. A client that hangs up after the commit does not cancel it.
func (e *Client) Committed(ctx context.Context, q scimflow.Queued) {
	if time.Now().UnixNano() < e.downUntil.Load() {
		e.logger().DebugContext(ctx, "Temporal recently unreachable: notification left to the sweeper", "org", q.OrgID)
		return
	}
	timeout := e.NotifyTimeout
	if timeout <= 0 {
		timeout = DefaultNotifyTimeout
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	var err error
	if rec := q.Recalculation; rec != nil {
		if err = e.RecalculateGroup(ctx, rec); err != nil {
			e.logger().WarnContext(ctx, "recalculation not started; the sweeper will hand it over", "recalculation", rec.ID, "error", err)
		}
	}
	if q.Members && err == nil {
		if err = e.MembersChanged(ctx, q.OrgID); err != nil {
			e.logger().WarnContext(ctx, "membership recalculation not signalled; the sweeper will hand it over", "org", q.OrgID, "error", err)
		}
	}
	if err != nil {
		backoff := e.NotifyBackoff
		if backoff <= 0 {
			backoff = DefaultNotifyBackoff
		}
		e.downUntil.Store(time.Now().Add(backoff).UnixNano())
	}
}

// RecalculateGroup starts the group's workflow, or signals the running one
// with the new mapping version: SignalWithStart is atomic and needs no
// worker to be up, so an "Update Group" is never lost nor run twice in
// parallel.
func (e *Client) RecalculateGroup(ctx context.Context, rec *scimflow.Recalculation) error {
	memo := map[string]any{"org": rec.OrgID, "group": rec.GroupID}
	if rec.GroupName != "" {
		memo["groupName"] = rec.GroupName
	}
	opts := client.StartWorkflowOptions{
		ID:                    workflows.GroupWorkflowID(rec.OrgID, rec.GroupID),
		TaskQueue:             e.taskQueue(),
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		Memo:                  memo,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.OrgIDAttribute.ValueSet(rec.OrgID), workflows.GroupIDAttribute.ValueSet(rec.GroupID)),
	}
	_, err := e.Temporal.SignalWithStartWorkflow(ctx, opts.ID, workflows.SignalMappingChanged,
		workflows.MappingChanged{Version: rec.MappingVersion}, opts, workflows.GroupRecalculationName,
		workflows.GroupInput{OrgID: rec.OrgID, GroupID: rec.GroupID, Version: rec.MappingVersion, BatchSize: e.BatchSize,
			HeartbeatTimeout: e.HeartbeatTimeout, Lanes: e.Lanes})
	return err
}

// MembersChanged wakes the org's membership workflow (starting it when it
// is not running) to consume the outbox.
func (e *Client) MembersChanged(ctx context.Context, orgID string) error {
	opts := client.StartWorkflowOptions{
		ID:                    workflows.MembersWorkflowID(orgID),
		TaskQueue:             e.taskQueue(),
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		Memo:                  map[string]any{"org": orgID},
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.OrgIDAttribute.ValueSet(orgID)),
	}
	_, err := e.Temporal.SignalWithStartWorkflow(ctx, opts.ID, workflows.SignalOutbox, nil, opts,
		workflows.MemberRecalculationName, workflows.MembersInput{OrgID: orgID, BatchSize: e.BatchSize})
	return err
}

// GroupRunning reports whether the group's recalculation workflow is
// running.
func (e *Client) GroupRunning(ctx context.Context, orgID, groupID string) (bool, error) {
	d, err := e.Temporal.DescribeWorkflowExecution(ctx, workflows.GroupWorkflowID(orgID, groupID), "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
}

// Progress returns rec with the live numbers of the group's workflow when
// that workflow is working on rec's mapping version (or a newer one, into
// which rec was coalesced).
func (e *Client) Progress(ctx context.Context, rec *scimflow.Recalculation) (*scimflow.Recalculation, error) {
	if rec.GroupID == "" {
		return rec, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	v, err := e.Temporal.QueryWorkflow(ctx, workflows.GroupWorkflowID(rec.OrgID, rec.GroupID), "", workflows.QueryProgress)
	if err != nil {
		return rec, err
	}
	var p workflows.Progress
	if err := v.Get(&p); err != nil {
		return rec, err
	}
	if p.Version < rec.MappingVersion || p.Status != workflows.StatusRunning {
		return rec, nil // not started on it yet, or already finished: the record knows
	}
	out := *rec
	out.Status, out.Total, out.Processed, out.Changed = scimflow.RecalcRunning, p.Total, p.Processed, p.Changed
	if out.StartedAt == nil {
		out.StartedAt = &p.StartedAt
	}
	if !p.PassStartedAt.IsZero() {
		out.PassStartedAt = &p.PassStartedAt
	}
	return &out, nil
}

// Reconcile recomputes an org's effective roles from scratch and waits
// for the result.
func (e *Client) Reconcile(ctx context.Context, orgID string) (workflows.ReconcileOrgResult, error) {
	var res workflows.ReconcileOrgResult
	run, err := e.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.ReconcileWorkflowID(orgID),
		TaskQueue:                e.taskQueue(),
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		Memo:                     map[string]any{"org": orgID},
		TypedSearchAttributes:    temporal.NewSearchAttributes(workflows.OrgIDAttribute.ValueSet(orgID)),
	}, workflows.ReconcileOrgName, workflows.ReconcileOrgInput{OrgID: orgID, BatchSize: e.BatchSize})
	if err != nil {
		return res, err
	}
	err = run.Get(ctx, &res)
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.Type() == workflows.ErrNotFound {
		// The command found the org in its database, the worker did not
		// in its own: they are not the same deployment.
		return res, fmt.Errorf("the worker on task queue %q does not know org %s (%s): it uses another database than this command",
			e.taskQueue(), orgID, app.Message())
	}
	return res, err
}

// livePoller is how recently a worker must have polled to count as
// running: a live worker's long poll returns within a minute and starts
// the next one, while the server remembers pollers for five minutes.
const livePoller = 2 * time.Minute

// WaitForWorker waits until a worker polls the client's task queue for
// workflow tasks, and fails when none does before ctx ends.
func (e *Client) WaitForWorker(ctx context.Context) error {
	for {
		res, err := e.Temporal.DescribeTaskQueue(ctx, e.taskQueue(), enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err != nil {
			return fmt.Errorf("describe task queue %q: %w", e.taskQueue(), err)
		}
		for _, p := range res.GetPollers() {
			if time.Since(p.GetLastAccessTime().AsTime()) < livePoller {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no worker polls task queue %q: %w", e.taskQueue(), ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// EnsureSearchAttributes registers scimflow's custom search attributes on
// the namespace; registering them again is not an error.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	_, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace,
		SearchAttributes: map[string]enumspb.IndexedValueType{
			workflows.OrgIDAttribute.GetName():   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
			workflows.GroupIDAttribute.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		},
	})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("register search attributes: %w", err)
	}
	return nil
}

// ScheduleID is the Temporal Schedule of the daily reconciliation on
// the default task queue.
const ScheduleID = "scimflow-reconcile-daily"

// ReconcileScheduleID is the daily reconciliation schedule of this
// client's task queue. Schedules live in the namespace, so a deployment
// on another queue has its own (and its own started workflow IDs).
func (e *Client) ReconcileScheduleID() string { return e.perQueue(ScheduleID) }

// perQueue makes id unique to the task queue; the default queue keeps
// the bare id, which earlier versions created.
func (e *Client) perQueue(id string) string {
	if q := e.taskQueue(); q != workflows.DefaultTaskQueue {
		return id + "/" + q
	}
	return id
}

// EnsureSchedule creates the daily reconciliation schedule when it does
// not exist yet.
func (e *Client) EnsureSchedule(ctx context.Context, every time.Duration) error {
	action := &client.ScheduleWorkflowAction{
		ID:        e.perQueue("reconcile-all"),
		Workflow:  workflows.ReconcileAllName,
		TaskQueue: e.taskQueue(),
	}
	_, err := e.Temporal.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:      e.ReconcileScheduleID(),
		Spec:    client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}},
		Action:  action,
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	})
	var exists *serviceerror.AlreadyExists
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) || errors.As(err, &exists) {
		// It exists: make its interval and action the configured ones.
		err = e.Temporal.ScheduleClient().GetHandle(ctx, e.ReconcileScheduleID()).Update(ctx, client.ScheduleUpdateOptions{
			DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				in.Description.Schedule.Spec = &client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
				in.Description.Schedule.Action = action
				return &client.ScheduleUpdate{Schedule: &in.Description.Schedule}, nil
			},
		})
	}
	if err != nil {
		return fmt.Errorf("create reconciliation schedule: %w", err)
	}
	return nil
}

// Ping checks that the Temporal frontend answers (for /readyz).
func (e *Client) Ping(ctx context.Context) error {
	_, err := e.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

// AuditPruneScheduleID is the Temporal Schedule that prunes the audit
// trail to its retention, on the default task queue.
const AuditPruneScheduleID = "scimflow-audit-prune-daily"

// AuditScheduleID is the audit pruning schedule of this client's task
// queue.
func (e *Client) AuditScheduleID() string { return e.perQueue(AuditPruneScheduleID) }

// EnsureAuditPruneSchedule creates the daily audit pruning schedule when
// it does not exist yet.
func (e *Client) EnsureAuditPruneSchedule(ctx context.Context) error {
	_, err := e.Temporal.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:   e.AuditScheduleID(),
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 24 * time.Hour}}},
		Action: &client.ScheduleWorkflowAction{
			ID:        e.perQueue("prune-audit"),
			Workflow:  workflows.PruneAuditName,
			TaskQueue: e.taskQueue(),
		},
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.Is(err, temporal.ErrScheduleAlreadyRunning) && !errors.As(err, &exists) {
		return fmt.Errorf("create audit pruning schedule: %w", err)
	}
	return nil
}

// EnsureNamespace registers namespace on the Temporal cluster that opts
// dials when it does not exist yet, keeping closed workflows for
// retention, and reports whether it did.
func EnsureNamespace(ctx context.Context, opts client.Options, namespace string, retention time.Duration) (bool, error) {
	nc, err := client.NewNamespaceClient(opts)
	if err != nil {
		return false, fmt.Errorf("connect to Temporal at %s: %w", opts.HostPort, err)
	}
	defer nc.Close()
	err = nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: namespace, WorkflowExecutionRetentionPeriod: durationpb.New(retention),
		Description: "scimflow's recalculation workflows"})
	var exists *serviceerror.NamespaceAlreadyExists
	switch {
	case errors.As(err, &exists):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("register Temporal namespace %q: %w", namespace, err)
	}
	return true, nil
}
