// deadline.js — when the call is due to end: a countdown under the call
// header while the server has set call.endsAt (joined, resumed,
// call-updated) — for a booked meeting, else its booking's closesAt (the
// end and the 15 minutes' grace: reason meeting-over) — and a notice for
// each call-warning.

import { $, show } from './dom.js';
import { showBanner, endReasonText } from './notices.js';

// countdown is the deadline shown, owned by this module:
// {endsAt: Date, reason, timer}, or null.
let countdown = null;

/**
 * setDeadline shows a countdown to call.endsAt (an RFC 3339 time), with
 * call.endReason, or hides it when the call has no deadline.
 */
export function setDeadline(call) {
    const booked = call && !call.endsAt && call.booking && call.booking.closesAt;
    if (booked) call = { ...call, endsAt: call.booking.closesAt, endReason: call.endReason || 'meeting-over' };
    const endsAt = call && call.endsAt ? new Date(call.endsAt) : null;
    if (!endsAt || isNaN(endsAt)) {
        clearDeadline();
        return;
    }
    if (countdown) clearInterval(countdown.timer);
    countdown = { endsAt, reason: call.endReason || '', timer: setInterval(tick, 1000) };
    tick();
    show($('call-deadline'), true);
}

/** clearDeadline hides the countdown. */
export function clearDeadline() {
    if (countdown) clearInterval(countdown.timer);
    countdown = null;
    show($('call-deadline'), false);
}

function tick() {
    if (!countdown) return;
    const left = countdown.endsAt.getTime() - Date.now();
    const why = endReasonText(countdown.reason);
    const el = $('call-deadline');
    el.dataset.reason = countdown.reason;
    el.classList.toggle('soon', left < 60000);
    $('call-deadline-text').textContent = left > 0
        ? `This call will end in ${clock(left)}${why ? ` — ${why}` : ''}`
        : `This call is ending${why ? ` — ${why}` : ''}…`;
}

/** clock formats a duration as m:ss, or h:mm:ss from an hour on. */
export function clock(ms) {
    const s = Math.ceil(ms / 1000);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const ss = String(s % 60).padStart(2, '0');
    return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** callWarning tells the user that the call ends soon (call-warning). */
export function callWarning({ endsAt, reason }) {
    const why = endReasonText(reason);
    let when = 'soon';
    if (endsAt) {
        const min = Math.round((endsAt.getTime() - Date.now()) / 60000);
        when = min >= 2 ? `in ${min} minutes` : min === 1 ? 'in 1 minute' : 'in less than a minute';
    }
    showBanner(`The call ends ${when}${why ? ` — ${why}` : ''}`, { kind: 'warning', timeout: 15000 });
}
