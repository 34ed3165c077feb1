package worker_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/scimflow/scimflow/activities"
	"github.com/scimflow/scimflow/internal/engine"
	"github.com/scimflow/scimflow/internal/testenv"
	"github.com/scimflow/scimflow/worker"
)

// taskCounter counts the workflow runs and activities a worker executes.
type taskCounter struct {
	interceptor.WorkerInterceptorBase
	workflows, activities atomic.Int64
}

func (c *taskCounter) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	c.activities.Add(1)
	return next
}

func (c *taskCounter) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	c.workflows.Add(1)
	return next
}

// deployment is one scimflow deployment: its own database, engine and
// worker on its own task queue.
type deployment struct {
	f       fixture
	eng     *engine.Client
	counter *taskCounter
}

func newDeployment(t *testing.T, c client.Client, queue string) deployment {
	t.Helper()
	env := testenv.Server(t)
	eng := env.UseEngine(c, 0)
	eng.TaskQueue = queue
	counter := &taskCounter{}
	w := worker.New(c, queue, &activities.Activities{DB: env.DB}, sdkworker.Options{Interceptors: []interceptor.WorkerInterceptor{counter}})
	if err := w.Start(); err != nil {
		t.Fatalf("start worker on %s: %v", queue, err)
	}
	t.Cleanup(w.Stop)
	return deployment{f: fixture{t: t, env: env}, eng: eng, counter: counter}
}

// TestTaskQueuesSeparateDeployments runs two deployments on one Temporal
// namespace with different task queues: each one's recalculations,
// reconciliations and schedules run only on its own worker.
func TestTaskQueuesSeparateDeployments(t *testing.T) {
	t.Parallel()
	c, _ := testenv.Temporal(t)
	a := newDeployment(t, c, "scimflow-a")
	b := newDeployment(t, c, "scimflow-b")

	// Update Group in A: A's worker recalculates; B's, whose database
	// does not know A's org, is never asked.
	ids := a.f.users(5, "queue")
	gid := a.f.group("Engineering", ids...)
	ep := a.f.entryPoint("Flows")
	rec := a.f.updateGroup(gid, ep, "approver")
	a.f.eventually("A's recalculation completes", 30*time.Second, func() bool {
		return a.f.must(a.f.env.Do(a.f.env.AdminToken, "GET", "/api/v1/recalculations/"+rec, nil), 200)["status"] == "completed"
	})
	if a.counter.workflows.Load() == 0 || a.counter.activities.Load() == 0 {
		t.Errorf("worker A ran %d workflows and %d activities, want A's recalculation", a.counter.workflows.Load(), a.counter.activities.Load())
	}
	if n, m := b.counter.workflows.Load(), b.counter.activities.Load(); n != 0 || m != 0 {
		t.Errorf("worker B ran %d workflows and %d activities of deployment A", n, m)
	}

	// Reconcile in B runs on B only.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b.f.users(3, "other")
	aWorkflows, aActivities := a.counter.workflows.Load(), a.counter.activities.Load()
	res, err := b.eng.Reconcile(ctx, b.f.env.OrgID)
	if err != nil || res.Users != 4 { // 3 and the first Org Admin
		t.Fatalf("reconcile B = %+v, %v; want 4 users checked", res, err)
	}
	if b.counter.activities.Load() == 0 {
		t.Error("worker B ran no activity for B's reconciliation")
	}
	if a.counter.workflows.Load() != aWorkflows || a.counter.activities.Load() != aActivities {
		t.Error("worker A ran tasks of B's reconciliation")
	}

	// Each deployment has its own schedules, starting on its own queue.
	for _, d := range []deployment{a, b} {
		if err := d.eng.EnsureSchedule(ctx, time.Hour); err != nil {
			t.Fatal(err)
		}
		desc, err := c.ScheduleClient().GetHandle(ctx, d.eng.ReconcileScheduleID()).Describe(ctx)
		if err != nil {
			t.Fatalf("describe %s: %v", d.eng.ReconcileScheduleID(), err)
		}
		if got := desc.Schedule.Action.(*client.ScheduleWorkflowAction).TaskQueue; got != d.eng.TaskQueue {
			t.Errorf("schedule %s starts on %q, want %q", d.eng.ReconcileScheduleID(), got, d.eng.TaskQueue)
		}
	}
	if a.eng.ReconcileScheduleID() == b.eng.ReconcileScheduleID() || a.eng.AuditScheduleID() == b.eng.AuditScheduleID() {
		t.Error("two task queues share a schedule ID")
	}
}
