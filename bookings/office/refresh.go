package office

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/parley-dev/parley/bookings"
	"github.com/parley-dev/parley/clock"
	"github.com/parley-dev/parley/rooms"
)

// RefreshEvery is how often the Refresher looks for series that need a
// new link, on the meeting clock.
const RefreshEvery = 15 * time.Minute

// RefreshLinks gives each approved series whose next link is due (its
// first meeting opens within LinkLead: bookings.Series.NeededLink) that
// link, with a new host key, and mails it to the leader (booking-link) in
// the same transaction. It returns how many links it made. A series
// another run has just given its link is left as it is, so two runs never
// make two.
func (o *Office) RefreshLinks(ctx context.Context) (int, error) {
	all, err := o.cfg.Store.SeriesList(ctx, bookings.Filter{States: []bookings.State{bookings.Approved}})
	if err != nil {
		return 0, fmt.Errorf("refresh links: %w", err)
	}
	n := 0
	var errs []error
	for _, s := range all {
		if _, ok := s.NeededLink(o.Now(), o.cfg.LinkLead); !ok {
			continue
		}
		made, err := o.refresh(ctx, s.ID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if made {
			n++
		}
	}
	return n, errors.Join(errs...)
}

// refresh makes series id's next link if it still needs one.
func (o *Office) refresh(ctx context.Context, id string) (bool, error) {
	cur, err := o.cfg.Store.Series(ctx, id)
	if err != nil {
		return false, fmt.Errorf("refresh link of %s: %w", id, err)
	}
	first, ok := cur.NeededLink(o.Now(), o.cfg.LinkLead)
	if !ok {
		return false, nil
	}
	lk, key, err := o.newLink(ctx, first)
	if err != nil {
		return false, err
	}
	s, err := o.cfg.Store.UpdateSeries(ctx, id, func(s *bookings.Series) ([]*rooms.Mail, error) {
		if f, ok := s.NeededLink(o.Now(), o.cfg.LinkLead); !ok || f != first {
			return nil, errNotNeeded
		}
		lk.SentAt = o.Now().UTC()
		s.AddLink(lk)
		return one(o.linkMail(s, lk, key))
	})
	if errors.Is(err, errNotNeeded) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("refresh link of %s: %w", id, err)
	}
	o.log.Info("booking link refreshed", "series", s.ID, "group", s.GroupName, "first", first)
	return true, nil
}

// Refresher runs RefreshLinks at start and every RefreshEvery on the
// meeting clock, until Close.
type Refresher struct {
	// set at construction
	o      *Office
	ctx    context.Context // ends at Close
	cancel context.CancelFunc

	mu     sync.Mutex  // guards the fields below
	timer  clock.Timer // the next run's
	closed bool
	runs   sync.WaitGroup // a run in progress
}

// StartRefresher runs RefreshLinks once, then starts the Refresher.
func (o *Office) StartRefresher() *Refresher {
	ctx, cancel := context.WithCancel(context.Background())
	r := &Refresher{o: o, ctx: ctx, cancel: cancel}
	r.run()
	return r
}

// run is one pass, then the next one scheduled. It runs on the caller's
// goroutine (StartRefresher's, or the clock's timer goroutine).
func (r *Refresher) run() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.runs.Add(1)
	r.mu.Unlock()
	defer r.runs.Done()

	if n, err := r.o.RefreshLinks(r.ctx); err != nil && r.ctx.Err() == nil {
		r.o.log.Warn("refreshing booking links failed", "made", n, "err", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.timer = r.o.cfg.Clock.AfterFunc(RefreshEvery, r.run)
	}
}

// Close stops the Refresher and waits for a run in progress to end.
func (r *Refresher) Close() {
	r.mu.Lock()
	r.closed = true
	if r.timer != nil {
		r.timer.Stop()
	}
	r.mu.Unlock()
	r.cancel()
	r.runs.Wait()
}
