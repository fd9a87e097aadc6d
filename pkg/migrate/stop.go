package migrate

import (
	"context"
	"errors"
)

// ErrStopped is returned by a run that stopped between two steps because
// the user asked it to (see WithStopAfterStep). Its state is saved as
// StateStopped, and the same command resumes it.
var ErrStopped = errors.New("stopped as asked")

type stopKey struct{}

// WithStopAfterStep returns a context under which runs stop at the next
// step boundary once stop is closed: the step in progress (a drain, the
// swap) ends normally, no further step starts, and a fleet starts no
// further node. Cancelling the context itself still interrupts at once.
func WithStopAfterStep(ctx context.Context, stop <-chan struct{}) context.Context {
	return context.WithValue(ctx, stopKey{}, stop)
}

// stopChan is the stop channel of ctx; nil, which never fires, when none.
func stopChan(ctx context.Context) <-chan struct{} {
	stop, _ := ctx.Value(stopKey{}).(<-chan struct{})
	return stop
}

// stopRequested tells whether the stop channel of ctx was closed.
func stopRequested(ctx context.Context) bool {
	stop := stopChan(ctx)
	if stop == nil {
		return false
	}
	select {
	case <-stop:
		return true
	default:
		return false
	}
}
