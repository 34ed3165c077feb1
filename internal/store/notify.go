package store

import (
	"context"

	"gorm.io/gorm"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// Notifier hears about the work a committed write queued for the
// recalculation engine: outbox rows (membership, activation, deletion) or
// a pending group recalculation ("Update Group"). The work is in the
// database already, committed with the change, so a notification that
// fails only delays it until the sweeper finds it.
type Notifier interface {
	Committed(ctx context.Context, q scimflow.Queued)
}

type notifierBox struct{ n Notifier }

// SetNotifier makes n hear about every write committed from now on; nil
// stops the notifications (the work then waits for the sweeper). cmd wires
// the Temporal client here, so that a change and its notification are one
// step of the write path and no handler calls the engine itself.
func (db *DB) SetNotifier(n Notifier) {
	db.notifier.Store(&notifierBox{n})
}

// write runs fn in a transaction, stores the audit events fn recorded
// (by the actor of ctx) in the same transaction and, once it has
// committed, hands what fn queued to the notifier. It is the one way a
// write that can queue recalculations or moves access or trust reaches
// the database.
//
// A transaction that failed before its commit because the connection was
// lost, or that the database aborted to break a deadlock, changed nothing,
// so it runs once more, from a fresh read. When the connection is lost
// during the commit itself, nobody knows whether it committed: that is
// answered as unavailable, never retried here.
func (db *DB) write(ctx context.Context, op string, fn func(tx *gorm.DB, q *scimflow.Queued) error) error {
	for attempt := 1; ; attempt++ {
		var q scimflow.Queued
		committing := false
		err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := fn(tx, &q); err != nil {
				return err
			}
			if !db.noAudit.Load() {
				if err := writeAudit(tx, q.OrgID, scimflow.ActorFrom(ctx), q.Events, db.now()); err != nil {
					return err
				}
			}
			committing = true
			return nil
		})
		if err == nil {
			if b := db.notifier.Load(); b != nil && b.n != nil && !q.Empty() {
				b.n.Committed(ctx, q)
			}
			return nil
		}
		if attempt == 1 && !committing && ctx.Err() == nil {
			if connectionLost(err) {
				db.dropIdle() // they died with this one: retry on a new connection
				continue
			}
			if abortedTx(err) {
				continue
			}
		}
		return internal(op, err)
	}
}
