package delivery

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Defaults of Config.
const (
	DefaultMinBackoff = 30 * time.Second
	DefaultMaxBackoff = time.Hour
	DefaultPoll       = time.Minute
	DefaultBatch      = 20
)

// Config configures a Dispatcher of messages of type T. Outbox, Send and
// Describe are required; the zero value of every other field means its
// default.
type Config[T any] struct {
	Outbox Outbox[T]
	// Send delivers one message; it returns nil once the far end (an SMTP
	// server, an SMS gateway) has accepted it.
	Send func(ctx context.Context, m T) error
	// Describe returns a message's ID, how many attempts it has had, and
	// the attributes its log lines carry.
	Describe func(m T) (id string, attempts int, attrs []any)
	// Permanent, if set, reports whether a send error is the far end
	// refusing this one message for good. Such a message is still retried
	// on its backoff, but its failure says nothing of whether the far end
	// is back, so it does not bring the waiting messages forward when
	// another one goes out. Nil means no error is permanent.
	Permanent func(error) bool
	// Noun names a message in log lines ("mail", "text message"), and
	// OutboxName the outbox ("the outbox"). Defaults "message" and "the
	// outbox".
	Noun, OutboxName string
	Options
}

// Options are the settings of a Dispatcher that its users pass through
// (mail.DispatcherConfig, sms.DispatcherConfig); the zero value of each
// field means its default.
type Options struct {
	// Clock defaults to SystemClock.
	Clock Clock
	// MinBackoff is the wait after a message's first failed attempt;
	// each further failure doubles it, up to MaxBackoff. Every wait is
	// spread by ±10% (Jitter), so messages that failed together do not
	// all come back at once. Defaults 30 s and 1 h.
	MinBackoff, MaxBackoff time.Duration
	// Poll is the longest the Dispatcher sleeps without looking at the
	// outbox, for messages queued by someone who did not call Notify.
	// Default 1 minute.
	Poll time.Duration
	// Batch is how many due messages are read from the outbox at a time.
	Batch int
	// Jitter returns a number in [0, 1) that spreads each backoff;
	// default math/rand/v2. 0.5 is no spread.
	Jitter func() float64
	Logger *slog.Logger
}

// Dispatcher delivers the outbox's queued messages as they fall due: one
// goroutine (Run) that sends them one at a time and records each outcome.
// It wakes when Notify is called, when the next message is due, and at
// least every Poll.
//
// When Run starts it tries every queued message once, due or not: a
// restart is often how an operator puts in a corrected setting, and the
// messages should not then wait out their backoff. For the same reason,
// when a send succeeds after failures that may have been the far end's
// (anything Permanent does not single out), the messages waiting on a
// backoff are tried again at once. Run is called once.
type Dispatcher[T any] struct {
	// Set at construction.
	cfg  Config[T]
	log  *slog.Logger
	wake chan struct{} // capacity 1: a pending wake-up

	// Owned by Run.
	backlog bool // some message failed since the last pass over all queued ones
}

// ErrIncomplete is returned by New when the Config lacks a required field.
var ErrIncomplete = errors.New("delivery: the dispatcher needs an Outbox, Send and Describe")

// New returns a Dispatcher for cfg; Run starts it.
func New[T any](cfg Config[T]) (*Dispatcher[T], error) {
	if cfg.Outbox == nil || cfg.Send == nil || cfg.Describe == nil {
		return nil, ErrIncomplete
	}
	if cfg.Permanent == nil {
		cfg.Permanent = func(error) bool { return false }
	}
	if cfg.Noun == "" {
		cfg.Noun = "message"
	}
	if cfg.OutboxName == "" {
		cfg.OutboxName = "the outbox"
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
	return &Dispatcher[T]{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1)}, nil
}

// Notify tells the Dispatcher a message was queued. It never blocks; it
// may be called before Run, from any goroutine, any number of times.
func (d *Dispatcher[T]) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// everything is a due time later than any message's.
var everything = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// Run delivers messages until ctx ends, then returns ctx's error. A send
// in progress is given up (the message stays queued, unmarked) unless the
// far end has already accepted it, which is then recorded.
func (d *Dispatcher[T]) Run(ctx context.Context) error {
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
			horizon = everything // the far end is back: try the waiting ones now
			continue
		}
		wait, err := d.untilNext(ctx)
		if storeErr || err != nil {
			// Something could not be read or recorded: do not retry it
			// in a tight loop.
			wait = max(wait, time.Second)
		}
		if wait <= 0 {
			continue // due already: queued meanwhile, or the pass took long
		}
		timer = d.cfg.Clock.AfterFunc(wait, d.Notify)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.wake:
			// Woken by the timer or by Notify: the timer is done either
			// way, and the next one is set after the pass.
			timer.Stop()
			timer = nil
			horizon = d.cfg.Clock.Now()
		}
	}
}

// untilNext is how long until the next message is due, at most Poll.
func (d *Dispatcher[T]) untilNext(ctx context.Context) (time.Duration, error) {
	next, err := d.cfg.Outbox.NextDue(ctx)
	switch {
	case err != nil:
		d.log.Error("read "+d.cfg.OutboxName, "err", err)
		return d.cfg.Poll, err
	case next.IsZero():
		return d.cfg.Poll, nil
	}
	return min(d.cfg.Poll, next.Sub(d.cfg.Clock.Now())), nil
}

// pass tries each queued message due by horizon once, the earliest due
// first. It returns how many were sent, and whether the store failed to
// give or take anything.
func (d *Dispatcher[T]) pass(ctx context.Context, horizon time.Time) (sent int, storeErr bool) {
	tried := map[string]bool{}
	for ctx.Err() == nil {
		// A message tried in this pass may be due again by horizon (after
		// its backoff), and come first: read past those.
		due, err := d.cfg.Outbox.Due(ctx, horizon, len(tried)+d.cfg.Batch)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Error("read "+d.cfg.OutboxName, "err", err)
			}
			return sent, true
		}
		fresh := 0
		for _, m := range due {
			id, _, _ := d.cfg.Describe(m)
			if tried[id] {
				continue
			}
			tried[id] = true
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
			return sent, storeErr
		}
	}
	return sent, storeErr
}

// attempt sends m and records the outcome; it reports whether m was
// sent, and whether the outcome was recorded.
func (d *Dispatcher[T]) attempt(ctx context.Context, m T) (sent, recorded bool) {
	id, attempts, attrs := d.cfg.Describe(m)
	log := d.log.With(append([]any{"id", id}, attrs...)...)
	noun := d.cfg.Noun
	err := d.cfg.Send(ctx, m)
	// The outcome is recorded even if ctx ended meanwhile: an accepted
	// message must be marked sent, whatever else is stopping.
	store := context.WithoutCancel(ctx)
	now := d.cfg.Clock.Now()
	if err == nil {
		if err := d.cfg.Outbox.MarkSent(store, id, now); err != nil {
			// The message stays queued and will be sent again.
			log.Error(noun+" sent but not marked sent; it will be sent again", "err", err)
			return true, false
		}
		log.Info(noun+" sent", "attempts", attempts+1)
		return true, true
	}
	if ctx.Err() != nil {
		log.Info(noun+" not sent: stopping; it stays queued", "err", err)
		return false, true
	}
	if !d.cfg.Permanent(err) {
		d.backlog = true // the far end, not this message, may be the trouble
	}
	wait := d.backoff(attempts + 1)
	if err := d.cfg.Outbox.MarkRetry(store, id, err.Error(), now.Add(wait)); err != nil {
		log.Error(noun+" not sent, and the retry not recorded", "err", err)
		return false, false
	}
	log.Warn(noun+" not sent; will retry", "attempts", attempts+1, "retry_in", wait.Round(time.Second), "err", err)
	return false, true
}

// backoff is the wait after a message's attempts-th failed attempt.
func (d *Dispatcher[T]) backoff(attempts int) time.Duration {
	wait := d.cfg.MinBackoff
	for i := 1; i < attempts && wait < d.cfg.MaxBackoff; i++ {
		wait *= 2
	}
	wait = min(wait, d.cfg.MaxBackoff)
	spread := (d.cfg.Jitter() - 0.5) / 5 // ±10%
	return wait + time.Duration(spread*float64(wait))
}
