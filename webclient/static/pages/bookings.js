// bookings.js — what the booking pages (/group's Bookings, /coordinator,
// /m/{token}) share: times in the deployment's zone ("UK time" for
// Europe/London) in plain words, a series' state as the group reads it,
// and a booking conflict (409 booking-conflict, docs/api.md "Bookings")
// drawn as the conflicting dates and the alternatives, each a button.

import { el } from './ui.js';

export const DEFAULT_ZONE = 'Europe/London';

/** zoneName is how a page names the zone: "UK time", or the IANA name. */
export function zoneName(tz) {
    return !tz || tz === DEFAULT_ZONE ? 'UK time' : tz;
}

// parts is a time's wall-clock fields in tz: {weekday, day, month, year, hour, minute}.
function parts(t, tz) {
    const d = t instanceof Date ? t : new Date(t);
    const out = {};
    const fmt = new Intl.DateTimeFormat('en-GB', {
        timeZone: tz || DEFAULT_ZONE, weekday: 'long', day: 'numeric', month: 'long', year: 'numeric',
        hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    });
    for (const p of fmt.formatToParts(d)) out[p.type] = p.value;
    return out;
}

/** clockTime is "18:45" in tz. */
export function clockTime(t, tz) {
    const p = parts(t, tz);
    return `${p.hour}:${p.minute}`;
}

/** longDate is "Tuesday 1 December" (with the year when it is not this year's) in tz. */
export function longDate(t, tz, { year = 'auto' } = {}) {
    const p = parts(t, tz);
    const withYear = year === true || (year === 'auto' && p.year !== parts(new Date(), tz).year);
    return `${p.weekday} ${p.day} ${p.month}${withYear ? ` ${p.year}` : ''}`;
}

/** shortDate is "Tue 1 Dec 2026" in tz. */
export function shortDate(t, tz) {
    const p = parts(t, tz);
    return `${p.weekday.slice(0, 3)} ${p.day} ${p.month.slice(0, 3)} ${p.year}`;
}

/** dayOf is a "YYYY-MM-DD" date (a date of the form, or a firstDate) as "Tue 1 Dec 2026". */
export function dayOf(ymd) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(ymd || ''));
    if (!m) return String(ymd || '');
    // Noon UTC is the same calendar day in every zone of Europe.
    return shortDate(new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], 12)), 'UTC');
}

/** span is "Tue 1 Dec 2026, 19:00–20:30" for an occurrence {start, end}. */
export function span(o, tz) {
    return `${shortDate(o.start, tz)}, ${clockTime(o.start, tz)}–${clockTime(o.end, tz)}`;
}

/** ymdIn is the date "YYYY-MM-DD" of t in tz (for a date input). */
export function ymdIn(t, tz) {
    const d = t instanceof Date ? t : new Date(t);
    const f = new Intl.DateTimeFormat('en-CA', { timeZone: tz || DEFAULT_ZONE, year: 'numeric', month: '2-digit', day: '2-digit' });
    return f.format(d);
}

/** STATE_TEXT is a series' state as the group and the coordinator read it. */
export const STATE_TEXT = {
    requested: 'Pending',
    approved: 'Confirmed',
    declined: 'Declined',
    cancelled: 'Cancelled',
};

/** stateBadge is the badge of a series' state. */
export function stateBadge(state) {
    return el('span', { class: 'badge booking-state', 'data-state': state, text: STATE_TEXT[state] || state });
}

/** upcoming are a series' occurrences still to come, not cancelled. */
export function upcoming(series, now = Date.now()) {
    return (series.occurrences || []).filter((o) => o.state !== 'cancelled' && o.state !== 'past' &&
        new Date(o.closesAt || o.end).getTime() > now);
}

/** conflictText is one conflict of a 409 in plain words. */
export function conflictText(c, tz) {
    const w = c.with || {};
    const acct = c.account && c.account.name ? ` on ${c.account.name}` : '';
    const other = w.start && w.end ? ` (${clockTime(w.start, tz)}–${clockTime(w.end, tz)})` : '';
    return `${span(c, tz)} is too close to ${w.group || 'another group'}’s meeting${other}${acct}: bookings need 30 minutes between them.`;
}

/** alternativeText is what an alternative's button says. */
export function alternativeText(a) {
    const acct = a.account && a.account.name ? ` on ${a.account.name}` : '';
    return `${a.startTime} from ${dayOf(a.firstDate)}${acct}`;
}

/**
 * conflictView draws a 409 booking-conflict's body: the conflicting dates
 * in a list, then each alternative as a button that calls choose(alt).
 */
export function conflictView(body, tz, choose) {
    const conflicts = Array.isArray(body.conflicts) ? body.conflicts : [];
    const alts = Array.isArray(body.alternatives) ? body.alternatives : [];
    const box = el('div', { class: 'conflict', role: 'alert' },
        el('p', { class: 'conflict-title', text: conflicts.length === 1
            ? 'This date is already taken:'
            : `${conflicts.length || 'Some'} of these dates are already taken:` }),
        el('ul', { class: 'conflict-list' }, ...conflicts.map((c) => el('li', { text: conflictText(c, tz) }))));
    if (alts.length) {
        box.append(el('p', { class: 'conflict-title', text: 'These fit instead (choose one to put it in the form):' }),
            el('ul', { class: 'alternative-list' }, ...alts.map((a) => el('li', {},
                el('button', { type: 'button', class: 'button small alternative', 'data-account': a.account ? a.account.id : '',
                    'data-first-date': a.firstDate, 'data-start-time': a.startTime, text: alternativeText(a), onclick: () => choose(a) }),
                a.reason ? el('span', { class: 'muted small-text', text: a.reason }) : null))));
    } else {
        box.append(el('p', { class: 'muted', text: 'No other time nearby is free: try another day or time.' }));
    }
    return box;
}

/**
 * countdownText is how long until ms from now: "14 minutes 5 seconds",
 * "2 hours 10 minutes", "3 days 4 hours".
 */
export function countdownText(ms) {
    const s = Math.max(0, Math.ceil(ms / 1000));
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    const w = (n, unit) => `${n} ${unit}${n === 1 ? '' : 's'}`;
    if (d) return `${w(d, 'day')} ${w(h, 'hour')}`;
    if (h) return `${w(h, 'hour')} ${w(m, 'minute')}`;
    if (m) return `${w(m, 'minute')} ${w(sec, 'second')}`;
    return w(sec, 'second');
}
