// groupbookings.js — the Bookings section of /group: the group's bookings
// of the shared meeting accounts (state, summary, next dates, account, the
// meeting link once confirmed, Withdraw), the group's calendar feed, and
// the "Book a meeting" form with a live preview of its dates
// (POST /api/v1/group/bookings/check). A refused request (409
// booking-conflict) lists the dates taken and offers each alternative as a
// button that fills the form with it. The API: docs/api.md, "Bookings".

import { request, describe, ApiError } from './api.js';
import { $, clearErrors, showErrors, setFormMessage, busy, value } from './form.js';
import { el, copyButton, confirmAction, say } from './ui.js';
import {
    DEFAULT_ZONE, zoneName, span, shortDate, clockTime, ymdIn, stateBadge, upcoming, conflictView,
} from './bookings.js';

const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const NTH = [[1, '1st'], [2, '2nd'], [3, '3rd'], [4, '4th'], [-1, 'last']];
const LEADER_KEY = 'parley.booking.leader'; // the leader's name and email, remembered for the next booking
const PREVIEW_DELAY_MS = 400;

// The API's field names → the form's element ids (form.js: X-error beside X).
const FIELD_IDS = {
    title: 'bk-title',
    leaderName: 'bk-leader-name',
    leaderEmail: 'bk-leader-email',
    account: 'bk-account',
    firstDate: 'bk-first-date',
    startTime: 'bk-start-time',
    durationMinutes: 'bk-hours',
    'recurrence.count': 'bk-count',
    'recurrence.until': 'bk-until',
};

// book is this module's state: the last answer's accounts and zone, the
// preview's timer and sequence number (a slow answer never overwrites a
// newer one), and what to do when the session has ended.
const book = {
    tz: DEFAULT_ZONE,
    maxMinutes: 240,
    accounts: [],
    timer: null,
    seq: 0,
    onSignedOut: () => {},
};

/** initBookings wires the section; onSignedOut is called on a 401. */
export function initBookings({ onSignedOut }) {
    book.onSignedOut = onSignedOut;
    fillChoices();
    const form = $('book-form');
    form.addEventListener('submit', submit);
    form.addEventListener('input', (ev) => { clearFieldOf(ev.target); schedulePreview(); });
    form.addEventListener('change', (ev) => {
        if (ev.target.id === 'bk-first-date') followFirstDate();
        for (const id of ['bk-weekday', 'bk-month-weekday', 'bk-twice-weekday']) {
            if (ev.target.id === id) syncWeekdays(ev.target.value);
        }
        if (ev.target.id === 'bk-until') form.querySelector('input[name="bk-ends"][value="until"]').checked = true;
        if (ev.target.id === 'bk-count') form.querySelector('input[name="bk-ends"][value="count"]').checked = true;
        $('ends-field').hidden = frequency() === 'once';
        schedulePreview();
    });
    // Choosing in a row's selects chooses the row.
    for (const row of form.querySelectorAll('.choice-row')) {
        const radio = row.querySelector('input[type="radio"]');
        for (const c of row.querySelectorAll('select, input:not([type="radio"])')) {
            c.addEventListener('focus', () => { if (!radio.checked) { radio.checked = true; schedulePreview(); } });
        }
    }
    try {
        const leader = JSON.parse(localStorage.getItem(LEADER_KEY) || 'null');
        if (leader) { $('bk-leader-name').value = leader.name || ''; $('bk-leader-email').value = leader.email || ''; }
    } catch (e) { /* private mode */ }
}

/** loadBookings fetches and draws the group's bookings. It reports whether the section is on (the server books). */
export async function loadBookings() {
    let res;
    try {
        res = await request('GET', '/api/v1/group/bookings');
    } catch (e) {
        if (e.status === 401) { book.onSignedOut(); return false; }
        $('bookings-panel').hidden = e.status === 404; // a server without bookings
        if (e.status !== 404) say(describe(e), 'error');
        return false;
    }
    book.tz = res.timeZone || DEFAULT_ZONE;
    book.maxMinutes = res.maxDurationMinutes || 240;
    book.accounts = Array.isArray(res.accounts) ? res.accounts : [];
    for (const n of document.querySelectorAll('.zone-name')) n.textContent = zoneName(book.tz);
    $('bk-hours').max = String(Math.floor(book.maxMinutes / 60));
    $('bk-max').textContent = durationWords(book.maxMinutes);
    fillAccounts();
    drawCalendar(res.calendarUrl || '');
    drawBookings(Array.isArray(res.bookings) ? res.bookings : []);
    $('bookings-panel').hidden = false;
    if (!$('bk-first-date').value) {
        $('bk-first-date').value = ymdIn(new Date(), book.tz);
        followFirstDate();
    }
    schedulePreview(0);
    return true;
}

// ---------------------------------------------------------------- the list

function drawCalendar(url) {
    $('calendar-row').hidden = !url;
    if (!url) return;
    $('calendar-url').value = url;
    $('calendar-copy').replaceChildren(copyButton('Copy', () => url, { select: $('calendar-url') }));
}

function drawBookings(list) {
    $('booking-list').replaceChildren(...list.map(bookingRow));
    $('bookings-empty').hidden = list.length > 0;
}

function bookingRow(s) {
    const tz = s.timeZone || book.tz;
    const next = upcoming(s).slice(0, 3);
    const li = el('li', { class: 'booking', 'data-id': s.id, 'data-state': s.state, 'data-frequency': (s.recurrence && s.recurrence.frequency) || '' },
        el('div', { class: 'booking-head' },
            el('span', { class: 'booking-title', text: s.title || (s.group && s.group.name) || 'Meeting' }),
            stateBadge(s.state)),
        el('p', { class: 'booking-summary', text: s.summary || '' }),
        el('p', { class: 'muted small-text booking-meta', text: [
            s.account && s.account.name ? `On ${s.account.name}` : 'On the first free account',
            s.leader && s.leader.name ? `group leader ${s.leader.name}` : '',
        ].filter(Boolean).join(' · ') }));
    if (next.length && (s.state === 'approved' || s.state === 'requested')) {
        li.append(el('p', { class: 'small-text booking-next' },
            el('span', { class: 'muted', text: next.length === 1 ? 'Next: ' : 'Next dates: ' }),
            next.map((o) => span(o, tz) + (o.state === 'moved' ? ' (moved)' : '')).join('; ')));
    }
    if (s.state === 'requested') {
        li.append(el('p', { class: 'small-text muted', text: 'Waiting for the coordinator to confirm it. The group leader is emailed the link and the host key then.' }));
    }
    if (s.reason && (s.state === 'declined' || s.state === 'cancelled')) {
        li.append(el('p', { class: 'small-text booking-reason', text: `The coordinator’s reason: ${s.reason}` }));
    }
    if (s.state === 'approved' && s.link) {
        const input = el('input', { type: 'text', readonly: true, value: s.link, class: 'room-link', 'aria-label': `Meeting link of ${s.title || 'the booking'}` });
        li.append(el('div', { class: 'copy-row booking-link', title: 'The meeting link: share it with the members. The host key is in the group leader’s email.' },
            input, copyButton('Copy link', () => s.link, { select: input })));
    }
    if (s.state === 'approved' || s.state === 'requested') {
        li.append(el('div', { class: 'row end' },
            el('button', { type: 'button', class: 'button small subtle danger-text booking-withdraw', text: 'Withdraw',
                'aria-label': `Withdraw ${s.title || 'the booking'}`, onclick: () => withdraw(s) })));
    }
    return li;
}

async function withdraw(s) {
    const ok = await confirmAction(`Withdraw ${s.title || 'this booking'}?`,
        'All its meetings are cancelled and their times are freed for others; the link stops working. This cannot be undone.', 'Withdraw booking');
    if (!ok) return;
    try {
        await request('POST', `/api/v1/group/bookings/${encodeURIComponent(s.id)}/cancel`);
    } catch (e) {
        if (e.status === 401) { book.onSignedOut(); return; }
        say(describe(e), 'error');
        return;
    }
    say(`${s.title || 'The booking'} is withdrawn.`, 'ok');
    await loadBookings();
}

// ---------------------------------------------------------------- the form

function option(v, text) {
    return el('option', { value: String(v), text });
}

function fillChoices() {
    const days = WEEKDAYS.map((d) => option(d, d[0].toUpperCase() + d.slice(1)));
    for (const id of ['bk-weekday', 'bk-month-weekday', 'bk-twice-weekday']) $(id).replaceChildren(...days.map((o) => o.cloneNode(true)));
    for (const id of ['bk-nth', 'bk-nth1', 'bk-nth2']) $(id).replaceChildren(...NTH.map(([n, t]) => option(n, t)));
}

function fillAccounts() {
    const sel = $('bk-account');
    const was = sel.value || 'any';
    sel.replaceChildren(option('any', 'Any free account'), ...book.accounts.map((a) => option(a.id, a.name)));
    sel.value = [...sel.options].some((o) => o.value === was) ? was : 'any';
}

// followFirstDate sets the weekday and the week of the month to the first
// date's: "1 December 2026" is the 1st Tuesday, twice monthly the 1st and 3rd.
function followFirstDate() {
    const d = dateOf($('bk-first-date').value);
    if (!d) return;
    const weekday = WEEKDAYS[(d.getUTCDay() + 6) % 7];
    syncWeekdays(weekday);
    const nth = Math.ceil(d.getUTCDate() / 7);
    $('bk-nth').value = String(nth <= 4 ? nth : -1);
    const pair = nth <= 2 ? [nth, nth + 2] : nth <= 4 ? [nth - 2, nth] : [3, -1];
    $('bk-nth1').value = String(pair[0]);
    $('bk-nth2').value = String(pair[1]);
}

function syncWeekdays(day) {
    for (const id of ['bk-weekday', 'bk-month-weekday', 'bk-twice-weekday']) $(id).value = day;
}

/** dateOf is a "YYYY-MM-DD" as a Date at noon UTC, or null. */
function dateOf(ymd) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd || '');
    return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], 12)) : null;
}

function frequency() {
    const r = $('book-form').querySelector('input[name="bk-frequency"]:checked');
    return r ? r.value : 'once';
}

/** bookingRequest is the form as a bookings.Request (docs/api.md). */
function bookingRequest() {
    const f = frequency();
    const rec = { frequency: f };
    if (f === 'weekly') rec.weekday = $('bk-weekday').value;
    if (f === 'monthly') { rec.weekday = $('bk-month-weekday').value; rec.nth = [Number($('bk-nth').value)]; }
    if (f === 'twice-monthly') { rec.weekday = $('bk-twice-weekday').value; rec.nth = [Number($('bk-nth1').value), Number($('bk-nth2').value)]; }
    if (f !== 'once') {
        const ends = $('book-form').querySelector('input[name="bk-ends"]:checked');
        if (ends && ends.value === 'until') rec.until = $('bk-until').value;
        else rec.count = Number($('bk-count').value) || 0;
    }
    const hours = Number($('bk-hours').value) || 0;
    return {
        title: value('bk-title'),
        leaderName: value('bk-leader-name'),
        leaderEmail: value('bk-leader-email'),
        account: $('bk-account').value || 'any',
        firstDate: $('bk-first-date').value,
        startTime: $('bk-start-time').value,
        durationMinutes: hours * 60 + (Number($('bk-minutes').value) || 0),
        recurrence: rec,
    };
}

// localErrors are the mistakes the page sees itself, by element id.
function localErrors(req, { all }) {
    const errors = {};
    if (all && !req.leaderName) errors['bk-leader-name'] = 'Please enter the group leader’s name.';
    if (all && !req.leaderEmail) errors['bk-leader-email'] = 'Please enter the group leader’s email address: the link and the host key are sent there.';
    else if (all && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(req.leaderEmail)) errors['bk-leader-email'] = 'This is not an email address: it looks like name@example.org.';
    if (!req.firstDate) errors['bk-first-date'] = 'Please choose the date of the first meeting.';
    if (!req.startTime) errors['bk-start-time'] = 'Please enter the start time, for example 19:00.';
    if (req.durationMinutes <= 0) errors['bk-hours'] = 'Please enter how long the meeting lasts.';
    else if (req.durationMinutes > book.maxMinutes) errors['bk-hours'] = `A meeting lasts at most ${durationWords(book.maxMinutes)}.`;
    const r = req.recurrence;
    if (r.frequency === 'twice-monthly' && r.nth[0] === r.nth[1]) errors['bk-nth1'] = 'Choose two different weeks of the month, for example the 1st and the 3rd.';
    if (r.frequency !== 'once' && 'until' in r && !r.until) errors['bk-until'] = 'Please choose the date of the last meeting.';
    if (r.frequency !== 'once' && 'count' in r && !(r.count >= 1)) errors['bk-count'] = 'Please enter how many meetings there are.';
    return errors;
}

function fieldId(name) {
    if (FIELD_IDS[name]) return FIELD_IDS[name];
    if (name.startsWith('recurrence.')) {
        const f = frequency();
        return f === 'monthly' ? 'bk-nth' : f === 'twice-monthly' ? 'bk-nth1' : 'bk-weekday';
    }
    return name;
}

function clearFieldOf(target) {
    const id = target.id || '';
    const err = id && $(`${id}-error`);
    if (err) { err.hidden = true; err.textContent = ''; target.removeAttribute('aria-invalid'); }
}

function durationWords(min) {
    const h = Math.floor(min / 60), m = min % 60;
    const hs = h ? `${h} hour${h === 1 ? '' : 's'}` : '';
    const ms = m ? `${m} minutes` : '';
    return [hs, ms].filter(Boolean).join(' ') || '0 minutes';
}

// ---------------------------------------------------------------- the preview

function schedulePreview(delay = PREVIEW_DELAY_MS) {
    clearTimeout(book.timer);
    book.timer = setTimeout(preview, delay);
}

async function preview() {
    const req = bookingRequest();
    const seq = ++book.seq;
    const errs = localErrors(req, { all: false });
    if (Object.keys(errs).length) {
        showPreview({ summary: Object.values(errs)[0] });
        return;
    }
    let res;
    try {
        // The dates do not depend on the leader: until they are typed in,
        // stand-ins keep the check from refusing the request for them.
        res = await request('POST', '/api/v1/group/bookings/check', { ...req, leaderName: req.leaderName || 'x', leaderEmail: req.leaderEmail || 'leader@example.org' });
    } catch (e) {
        if (seq !== book.seq) return;
        if (e.status === 401) { book.onSignedOut(); return; }
        if (e.code === 'booking-conflict') { showPreview({ summary: 'These dates cannot be booked as they are.', conflict: e }); return; }
        const words = Object.entries(e.fields || {}).filter(([k]) => k !== 'leaderName' && k !== 'leaderEmail').map(([, v]) => v);
        showPreview({ summary: words.length ? words.join(' ') : describe(e), error: true });
        return;
    }
    if (seq !== book.seq) return;
    showPreview({ summary: res.summary || '', occurrences: res.occurrences || [], account: res.account });
}

// showPreview draws the preview: the summary, the dates, or the conflict.
function showPreview({ summary = '', occurrences = [], account = null, conflict = null, error = false }) {
    const acct = account && account.name ? ` On ${account.name}.` : '';
    const stop = summary && !/[.!?]$/.test(summary) && occurrences.length ? '.' : '';
    $('preview-summary').textContent = summary + stop + (occurrences.length ? acct : '');
    $('preview-summary').dataset.kind = error ? 'error' : '';
    const shown = occurrences.slice(0, 12);
    $('preview-dates').replaceChildren(...shown.map((o) => el('li', { text: span(o, book.tz) })));
    if (occurrences.length > shown.length) {
        $('preview-dates').append(el('li', { class: 'muted', text: `… and ${occurrences.length - shown.length} more, to ${shortDate(occurrences[occurrences.length - 1].start, book.tz)}` }));
    }
    $('preview-conflict').replaceChildren(...(conflict ? [conflictView(conflict.body || {}, book.tz, useAlternative)] : []));
}

// useAlternative puts an alternative in the form and checks it again.
function useAlternative(a) {
    if (a.account && a.account.id) $('bk-account').value = a.account.id;
    if (a.firstDate) { $('bk-first-date').value = a.firstDate; followFirstDate(); }
    if (a.startTime) $('bk-start-time').value = a.startTime;
    setFormMessage('book-message', `The form now has ${a.startTime} from ${a.firstDate}${a.account && a.account.name ? ` on ${a.account.name}` : ''}: press Request booking to book it.`, 'info');
    schedulePreview(0);
    $('book-button').focus();
}

// ---------------------------------------------------------------- booking

async function submit(ev) {
    ev.preventDefault();
    clearErrors($('book-form'));
    setFormMessage('book-message', '');
    const req = bookingRequest();
    const errs = localErrors(req, { all: true });
    if (Object.keys(errs).length) { showErrors(errs); return; }
    let res;
    try {
        res = await busy($('book-button'), 'Requesting…', () => request('POST', '/api/v1/group/bookings', req));
    } catch (e) {
        if (e.status === 401) { book.onSignedOut(); return; }
        if (e.code === 'booking-conflict') {
            setFormMessage('book-message', 'Some of these dates are already taken: see the alternatives above.');
            showPreview({ summary: 'These dates cannot be booked as they are.', conflict: e });
            $('preview-conflict').scrollIntoView({ block: 'nearest' });
            const first = $('preview-conflict').querySelector('button');
            if (first) first.focus();
            return;
        }
        const fields = e instanceof ApiError ? e.fields || {} : {};
        const mapped = {};
        for (const [k, v] of Object.entries(fields)) mapped[fieldId(k)] = v;
        const unplaced = showErrors(mapped);
        setFormMessage('book-message', unplaced.length ? unplaced.map((id) => mapped[id]).join(' ') : Object.keys(mapped).length ? '' : describe(e));
        return;
    }
    try { localStorage.setItem(LEADER_KEY, JSON.stringify({ name: req.leaderName, email: req.leaderEmail })); } catch (e) { /* private mode */ }
    const s = (res && res.booking) || {};
    const first = (s.occurrences || [])[0];
    const when = first ? ` from ${shortDate(first.start, book.tz)} at ${clockTime(first.start, book.tz)}` : '';
    say(s.state === 'approved'
        ? `Booked${when}. The link and the host key are on their way to ${req.leaderEmail}.`
        : `Requested${when}. The coordinator confirms it; then the link and the host key are emailed to ${req.leaderEmail}.`, 'ok');
    $('preview-conflict').replaceChildren();
    await loadBookings();
    $('console-message').scrollIntoView({ block: 'nearest' });
}
