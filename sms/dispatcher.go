package sms

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/parley-dev/parley/rooms"
)

// Defaults of DispatcherConfig.
const (
	DefaultMinBackoff = 30 * time.Second
	DefaultMaxBackoff = time.Hour
	DefaultPoll       = time.Minute
	DefaultBatch      = 20
)

// DispatcherConfig configures a Dispatcher. Outbox and Sender are
// required; the zero value of every other field means its default.
type DispatcherConfig struct {
	Outbox rooms.SMSOutbox
	Sender Sender
	// Clock defaults to SystemClock.
	Clock Clock
	// MinBackoff is the wait after a message's first failed attempt;
	// each further failure doubles it, up to MaxBackoff; every wait is
	// spread by ±10% (Jitter). Defaults 30 s and 1 h.
	MinBackoff, MaxBackoff time.Duration
	// Poll is the longest the Dispatcher sleeps without looking at the
	// outbox, for messages queued by someone who did not call Notify.
	Poll time.Duration
	// Batch is how many due messages are read at a time.
	Batch int
	// Jitter returns a number in [0, 1); default math/rand/v2. 0.5 is no
	// spread.
	Jitter func() float64
	Logger *slog.Logger
}

// Dispatcher delivers the SMS outbox's queued messages as they fall due:
// one goroutine (Run) that sends them one at a time and records each
// outcome. It wakes when Notify is called, when the next message is due,
// and at least every Poll. When Run starts it tries every queued message
// once, due or not (a restart is how a corrected gateway setting comes in),
// and when a send succeeds after failures, the messages waiting on a
// backoff are tried at once: the gateway is back. Run is called once.
type Dispatcher struct {
	// Set at construction.
	cfg  DispatcherConfig
	log  *slog.Logger
	wake chan struct{} // capacity 1: a pending wake-up

	// Owned by Run.
	backlog bool // some message failed since the last pass over all queued ones
}

// NewDispatcher returns a Dispatcher for cfg; Run starts it.
func NewDispatcher(cfg DispatcherConfig) (*Dispatcher, error) {
	if cfg.Outbox == nil || cfg.Sender == nil {
		return nil, errors.New("sms: the dispatcher needs an Outbox and a Sender")
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Dispatcher{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1)}, nil
}

// Notify tells the Dispatcher a message was queued. It never blocks; it
// may be called before Run, from any goroutine.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// everything is a due time later than any message's.
var everything = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// Run delivers messages until ctx ends, then returns ctx's error.
func (d *Dispatcher) Run(ctx context.Context) error {
	var timer Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	horizon := everything // the first pass tries every queued message
	for {
		sent, storeErr := d.pass(ctx, horizon)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		horizon = d.cfg.Clock.Now()
		if sent > 0 && d.backlog {
			d.backlog = false
			horizon = everything
			continue
		}
		wait, err := d.untilNext(ctx)
		if storeErr || err != nil {
			wait = max(wait, time.Second) // no tight loop on a failing store
		}
		if wait <= 0 {
			continue
		}
		timer = d.cfg.Clock.AfterFunc(wait, d.Notify)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.wake:
			timer.Stop()
			timer = nil
			horizon = d.cfg.Clock.Now()
		}
	}
}

// untilNext is how long until the next message is due, at most Poll.
func (d *Dispatcher) untilNext(ctx context.Context) (time.Duration, error) {
	next, err := d.cfg.Outbox.NextTextDue(ctx)
	switch {
	case err != nil:
		d.log.Error("read the SMS outbox", "err", err)
		return d.cfg.Poll, err
	case next.IsZero():
		return d.cfg.Poll, nil
	}
	return min(d.cfg.Poll, next.Sub(d.cfg.Clock.Now())), nil
}

// pass tries each queued message due by horizon once, the earliest first.
func (d *Dispatcher) pass(ctx context.Context, horizon time.Time) (sent int, storeErr bool) {
	tried := map[string]bool{}
	for ctx.Err() == nil {
		due, err := d.cfg.Outbox.DueTexts(ctx, horizon, len(tried)+d.cfg.Batch)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Error("read the SMS outbox", "err", err)
			}
			return sent, true
		}
		fresh := 0
		for _, m := range due {
			if tried[m.ID] {
				continue
			}
			tried[m.ID] = true
			fresh++
			ok, recorded := d.attempt(ctx, m)
			if ok {
				sent++
			}
			storeErr = storeErr || !recorded
			if ctx.Err() != nil {
				return sent, storeErr
			}
		}
		if fresh == 0 {
			break
		}
	}
	return sent, storeErr
}

// attempt sends m and records the outcome.
func (d *Dispatcher) attempt(ctx context.Context, m *rooms.TextMessage) (sent, recorded bool) {
	log := d.log.With("id", m.ID, "kind", m.Kind, "to", rooms.MaskPhone(m.To))
	err := d.cfg.Sender.Send(ctx, m)
	store := context.WithoutCancel(ctx) // an accepted message must be marked, whatever is stopping
	now := d.cfg.Clock.Now()
	if err == nil {
		if err := d.cfg.Outbox.MarkTextSent(store, m.ID, now); err != nil {
			log.Error("text message sent but not marked sent; it will be sent again", "err", err)
			return true, false
		}
		log.Info("text message sent", "attempts", m.Attempts+1)
		return true, true
	}
	if ctx.Err() != nil {
		log.Info("text message not sent: stopping; it stays queued", "err", err)
		return false, true
	}
	d.backlog = true
	wait := d.backoff(m.Attempts + 1)
	if err := d.cfg.Outbox.MarkTextRetry(store, m.ID, err.Error(), now.Add(wait)); err != nil {
		log.Error("text message not sent, and the retry not recorded", "err", err)
		return false, false
	}
	log.Warn("text message not sent; will retry", "attempts", m.Attempts+1, "retry_in", wait.Round(time.Second), "err", err)
	return false, true
}

// backoff is the wait after a message's attempts-th failed attempt.
func (d *Dispatcher) backoff(attempts int) time.Duration {
	wait := d.cfg.MinBackoff
	for i := 1; i < attempts && wait < d.cfg.MaxBackoff; i++ {
		wait *= 2
	}
	wait = min(wait, d.cfg.MaxBackoff)
	spread := (d.cfg.Jitter() - 0.5) / 5 // ±10%
	return wait + time.Duration(spread*float64(wait))
}
