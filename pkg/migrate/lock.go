package migrate

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crimig/kubectl-crimig/pkg/nodeexec"
)

// Lease timing: a holder that dies loses the lock after leaseDuration.
const (
	leaseDuration = 60 * time.Second
	leaseRenew    = 15 * time.Second
)

// LockedError says who holds a node's lock.
type LockedError struct {
	Node, Holder string
	Renewed      time.Time
	Expires      time.Time
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("%s is locked by %q (renewed %s); another crimig is working on it. "+
		"If that run died, its lock expires at %s and a new run resumes where it stopped",
		e.Node, e.Holder, e.Renewed.Format(time.RFC3339), e.Expires.Format(time.RFC3339))
}

// LeaseName is the per-node lock's name.
func LeaseName(node string) string { return "crimig-node-" + node }

// Lock is a held Lease; Release stops renewing and deletes it.
type Lock struct {
	cancel context.CancelFunc
	done   chan struct{}
	e      *Engine
	name   string
}

// acquire takes the node's Lease, or takes it over when it expired.
func (e *Engine) acquire(ctx context.Context, node string) (*Lock, error) {
	return e.acquireNamed(ctx, LeaseName(node), "node "+node)
}

// acquireNamed takes the Lease name; what names it in messages.
func (e *Engine) acquireNamed(ctx context.Context, name, what string) (*Lock, error) {
	leases := e.Client.CoordinationV1().Leases(e.LockNamespace)
	node := what
	now := metav1.NewMicroTime(e.now())
	dur := int32(leaseDuration / time.Second)
	l, err := leases.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if _, err := leases.Create(ctx, e.newLease(name, now, dur), metav1.CreateOptions{}); err != nil {
			if !apierrors.IsAlreadyExists(err) {
				return nil, fmt.Errorf("taking the lock %s/%s: %w", e.LockNamespace, name, err)
			}
			// Another crimig created it between our Get and Create: say who.
			cur, err := leases.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("reading the lock %s/%s: %w", e.LockNamespace, name, err)
			}
			if err := e.takeOver(ctx, node, cur, now, dur); err != nil {
				return nil, err
			}
		}
	case err != nil:
		return nil, fmt.Errorf("reading the lock %s/%s: %w", e.LockNamespace, name, err)
	default:
		if err := e.takeOver(ctx, node, l, now, dur); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	lk := &Lock{cancel: cancel, done: make(chan struct{}), e: e, name: name}
	go lk.renew(ctx)
	return lk, nil
}

// newLease is the Lease that locks name for this run.
func (e *Engine) newLease(name string, now metav1.MicroTime, dur int32) *coordinationv1.Lease {
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.LockNamespace, Labels: map[string]string{nodeexec.LabelManagedBy: nodeexec.ManagedBy}},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &e.Identity, LeaseDurationSeconds: &dur, AcquireTime: &now, RenewTime: &now},
	}
}

// lockedBy is a *LockedError when another run holds l and it has not expired.
func (e *Engine) lockedBy(node string, l *coordinationv1.Lease) error {
	holder := ""
	if l.Spec.HolderIdentity != nil {
		holder = *l.Spec.HolderIdentity
	}
	if holder != "" && holder != e.Identity && l.Spec.RenewTime != nil && l.Spec.LeaseDurationSeconds != nil {
		expires := l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second)
		if e.now().Before(expires) {
			return &LockedError{Node: node, Holder: holder, Renewed: l.Spec.RenewTime.Time, Expires: expires}
		}
	}
	return nil
}

// holdLease makes l this run's, from now on for dur.
func (e *Engine) holdLease(l *coordinationv1.Lease, now metav1.MicroTime, dur int32) {
	l.Spec.HolderIdentity = &e.Identity
	l.Spec.LeaseDurationSeconds = &dur
	l.Spec.AcquireTime = &now
	l.Spec.RenewTime = &now
}

func (e *Engine) takeOver(ctx context.Context, node string, l *coordinationv1.Lease, now metav1.MicroTime, dur int32) error {
	if err := e.lockedBy(node, l); err != nil {
		return err
	}
	e.holdLease(l, now, dur)
	if _, err := e.Client.CoordinationV1().Leases(e.LockNamespace).Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsConflict(err) {
			return fmt.Errorf("another crimig took the lock of %s at the same moment; try again", node)
		}
		return fmt.Errorf("taking over the expired lock of %s: %w", node, err)
	}
	return nil
}

func (lk *Lock) renew(ctx context.Context) {
	defer close(lk.done)
	t := time.NewTicker(leaseRenew)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			leases := lk.e.Client.CoordinationV1().Leases(lk.e.LockNamespace)
			l, err := leases.Get(ctx, lk.name, metav1.GetOptions{})
			if err != nil {
				continue // the API server may be restarting; the lease has slack
			}
			now := metav1.NewMicroTime(lk.e.now())
			l.Spec.RenewTime = &now
			_, _ = leases.Update(ctx, l, metav1.UpdateOptions{})
		}
	}
}

// Release stops renewing and deletes the Lease, so the next run need not wait.
func (lk *Lock) Release() {
	lk.cancel()
	<-lk.done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leases := lk.e.Client.CoordinationV1().Leases(lk.e.LockNamespace)
	l, err := leases.Get(ctx, lk.name, metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != lk.e.Identity {
		return
	}
	_ = leases.Delete(ctx, lk.name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &l.ResourceVersion}})
}
