// Package delivery is the retry loop shared by parley's outgoing mail
// (package mail) and text messages (package sms): a Dispatcher takes
// queued messages from an Outbox as they fall due, hands each to a Send
// function and records the outcome: sent, or a retry after an exponential
// backoff with jitter. A message is retried until it is sent, never
// dropped; its state lives in the Outbox, so a restart loses nothing.
package delivery

import (
	"context"
	"time"

	"github.com/parley-dev/parley/clock"
)

// Outbox is the queue a Dispatcher delivers from; rooms/store implements
// one for mail and one for text messages, adapted by packages mail and sms.
type Outbox[T any] interface {
	// Due returns up to limit queued messages whose next attempt is at or
	// before now, the earliest due first.
	Due(ctx context.Context, now time.Time, limit int) ([]T, error)
	// NextDue returns the earliest next attempt of a queued message, or
	// the zero time when none is queued.
	NextDue(ctx context.Context) (time.Time, error)
	// MarkSent records that the message was accepted at at.
	MarkSent(ctx context.Context, id string, at time.Time) error
	// MarkRetry records a failed attempt and when to try again.
	MarkRetry(ctx context.Context, id, lastErr string, next time.Time) error
}

// OutboxFuncs is an Outbox made of four functions, such as the methods of
// a store's outbox, whose names differ from Outbox's.
type OutboxFuncs[T any] struct {
	DueF       func(ctx context.Context, now time.Time, limit int) ([]T, error)
	NextDueF   func(ctx context.Context) (time.Time, error)
	MarkSentF  func(ctx context.Context, id string, at time.Time) error
	MarkRetryF func(ctx context.Context, id, lastErr string, next time.Time) error
}

// Due calls DueF.
func (o OutboxFuncs[T]) Due(ctx context.Context, now time.Time, limit int) ([]T, error) {
	return o.DueF(ctx, now, limit)
}

// NextDue calls NextDueF.
func (o OutboxFuncs[T]) NextDue(ctx context.Context) (time.Time, error) { return o.NextDueF(ctx) }

// MarkSent calls MarkSentF.
func (o OutboxFuncs[T]) MarkSent(ctx context.Context, id string, at time.Time) error {
	return o.MarkSentF(ctx, id, at)
}

// MarkRetry calls MarkRetryF.
func (o OutboxFuncs[T]) MarkRetry(ctx context.Context, id, lastErr string, next time.Time) error {
	return o.MarkRetryF(ctx, id, lastErr, next)
}

// Clock is the Dispatcher's time source (package clock's): SystemClock in
// production, a fake clock (livecall/fakeclock) in tests.
type Clock = clock.Clock

// Timer is a pending AfterFunc.
type Timer = clock.Timer

// SystemClock is the real clock (package time).
type SystemClock = clock.SystemClock
