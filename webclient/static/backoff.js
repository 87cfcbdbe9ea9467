// backoff.js — when to try again: exponential backoff with jitter, for
// rejoining a call after the connection or the server went away.

/**
 * REJOIN is the rejoin schedule. The cap bounds how long a client may wait
 * after the server is back (issue #11: back in the call p50 ≤ 5 s, p99 ≤
 * 15 s after the server answers); while the server is down an attempt is
 * one failed HTTP request, so a short cap costs nothing.
 *
 * The schedule: the first wait is baseMs, each later one
 * twice the one before, up to capMs, each moved by up to ±jitter of itself
 * so that a room full of clients does not come back in lockstep. After
 * giveUpMs the client stops and offers a Rejoin button; an attempt that
 * has not joined after attemptMs is abandoned.
 */
export const REJOIN = {
    baseMs: 500,
    capMs: 3000,
    jitter: 0.3,
    giveUpMs: 5 * 60 * 1000,
    attemptMs: 15000,
};

/**
 * backoffDelay is how long to wait after the failed attempt number attempt
 * (1 for the first), in milliseconds. random is Math.random or a stand-in.
 */
export function backoffDelay(attempt, { baseMs, capMs, jitter } = REJOIN, random = Math.random) {
    const n = Math.max(1, attempt);
    const d = Math.min(capMs, baseMs * 2 ** Math.min(n - 1, 30));
    return Math.round(d * (1 + jitter * (2 * random() - 1)));
}
