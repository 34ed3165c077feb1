package activities

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestHeartbeatStopsBeforeStopReturns: once the stop function of a
// keep-alive returns, no heartbeat is in flight and none follows, even
// when stop is called in the middle of one.
func TestHeartbeatStopsBeforeStopReturns(t *testing.T) {
	var beats, late atomic.Int64
	var stopped atomic.Bool
	inBeat, release := make(chan struct{}), make(chan struct{})
	beat := func() {
		if beats.Add(1) == 3 {
			close(inBeat) // the third heartbeat is slow
			<-release
		}
		if stopped.Load() {
			late.Add(1)
		}
	}
	stop := heartbeatEvery(context.Background(), time.Millisecond, beat)
	<-inBeat

	returned := make(chan struct{})
	go func() {
		stop()
		stopped.Store(true)
		close(returned)
	}()
	// stop must wait for the heartbeat in flight: it may not return while
	// that heartbeat is blocked. A negative check needs a window; 100 ms
	// is ample for a close and a channel receive.
	select {
	case <-returned:
		t.Fatal("stop returned while a heartbeat was in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("stop did not return after the heartbeat finished")
	}
	n := beats.Load()
	// Give a leaked goroutine every chance to beat again at 1 ms ticks.
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) {
		if beats.Load() != n {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if got := beats.Load(); got != n || late.Load() != 0 {
		t.Errorf("heartbeats after stop returned: %d more, %d late", got-n, late.Load())
	}
}

// TestHeartbeatStopsWithContext: a cancelled activity context ends the
// heartbeats too, and stop still returns.
func TestHeartbeatStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var beats atomic.Int64
	stop := heartbeatEvery(ctx, time.Millisecond, func() { beats.Add(1) })
	deadline := time.Now().Add(10 * time.Second)
	for beats.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no heartbeats within 10s")
		}
		time.Sleep(time.Millisecond) // polling interval
	}
	cancel()
	stop()
	n := beats.Load()
	stop2 := heartbeatEvery(ctx, time.Millisecond, func() { beats.Add(1) })
	stop2()
	if got := beats.Load(); got != n {
		t.Errorf("a keep-alive on a cancelled context beat %d times", got-n)
	}
}
