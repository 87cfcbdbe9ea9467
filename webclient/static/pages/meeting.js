// meeting.js — /m/{token}: a booked meeting's link page (GET
// /api/v1/meetings/{token}, docs/api.md "Bookings"). It names the meeting
// and its group and says when it opens: members may join up to 15 minutes
// before the start. Before that it counts down and opens by itself — a
// tick each second against the server's clock (so a computer that slept
// notices at once on waking), then the server is asked again, which
// decides. Then it asks the name and joins (POST …/join), going straight
// into the call at /meeting/call with the join token in sessionStorage,
// never in the URL (meetingcall.js). A link whose meetings are over, a
// cancelled meeting and an unknown link each get a page saying so.

import { request, describe } from './api.js';
import { $, setFieldError, setFormMessage, busy } from './form.js';
import { DEFAULT_ZONE, zoneName, clockTime, longDate, countdownText } from './bookings.js';

/** MEETING_TICKET_KEY is where the join token waits for the call page (meetingcall.js reads it). */
export const MEETING_TICKET_KEY = 'parley.meeting.ticket';
const NAME_KEY = 'parley.name'; // the call page's remembered name (dom.js STORAGE.name)
const RECHECK_MS = 5 * 60 * 1000; // how often a waiting page asks the server again anyway
const OPEN_RETRY_MS = 2000;       // …and how often once opensAt has come and the server still says wait

// page is this module's state: the link's token, the last answer, the
// server's clock minus ours, the tick, and whether the person asked to
// join as soon as it opens.
const page = {
    token: '',
    meeting: null,
    skew: 0,
    tick: null,
    askedAt: 0,
    joinWhenOpen: false,
    joining: false,
};

/** meetingToken is the link's token from /m/{token}, or "". */
function meetingToken() {
    const m = /^\/m\/([^/]+)\/?$/.exec(location.pathname);
    if (!m) return '';
    try { return decodeURIComponent(m[1]); } catch (e) { return ''; }
}

function showSection(id) {
    for (const s of ['meeting-loading', 'meeting-view', 'meeting-failed']) $(s).hidden = s !== id;
}

const now = () => Date.now() + page.skew;

async function load({ first = false } = {}) {
    page.askedAt = Date.now();
    let res;
    try {
        res = await request('GET', `/api/v1/meetings/${encodeURIComponent(page.token)}`);
    } catch (e) {
        if (e.code === 'network' && !first && page.meeting) return; // offline for a moment: the tick asks again
        showFailed(e);
        return;
    }
    const serverNow = res.now ? new Date(res.now).getTime() : NaN;
    page.skew = isNaN(serverNow) ? 0 : serverNow - Date.now();
    page.meeting = res;
    draw(first);
}

function groupName(g) {
    if (!g) return '';
    return typeof g === 'string' ? g : g.name || '';
}

// when is "Tuesday 1 December, 19:00–20:30 UK time".
function when(o, tz) {
    return `${longDate(o.start, tz)}, ${clockTime(o.start, tz)}–${clockTime(o.end, tz)} ${zoneName(tz)}`;
}

function draw(first) {
    const m = page.meeting;
    const tz = m.timeZone || DEFAULT_ZONE;
    const o = m.occurrence;
    const title = m.title || groupName(m.group) || 'Meeting';
    $('meeting-title').textContent = title;
    document.title = `${title} — Parley`;
    const g = groupName(m.group);
    $('meeting-group').textContent = g && g !== title ? `A meeting of ${g}` : '';
    $('meeting-group').hidden = !$('meeting-group').textContent;
    $('meeting-when').textContent = o ? `The meeting: ${when(o, tz)}` : '';
    const open = m.state === 'open';
    $('meeting-view').dataset.state = open ? 'open' : 'waiting';
    $('meeting-waiting').hidden = open;
    $('meeting-open').hidden = !open;
    if (o && !open) {
        $('meeting-opens').textContent = `Opens at ${clockTime(o.opensAt, tz)} ${zoneName(tz)}, ${longDate(o.opensAt, tz)} — members may join up to 15 minutes before the start.`;
    }
    const next = m.next;
    $('meeting-next').hidden = !next;
    if (next) $('meeting-next').textContent = `The next meeting with this link: ${when(next, tz)}.`;
    $('meeting-button').textContent = open ? 'Join the meeting' : page.joinWhenOpen ? 'Joining when it opens…' : 'Join when it opens';
    showSection('meeting-view');
    if (first) {
        try { $('meeting-name').value = localStorage.getItem(NAME_KEY) || ''; } catch (e) { /* private mode */ }
        $('meeting-title').focus();
        if (!$('meeting-name').value) $('meeting-name').focus();
    }
    startTick();
    if (open && page.joinWhenOpen) join();
}

// startTick counts down each second; when opensAt has come by the
// server's clock, or after a long sleep, the server is asked again.
function startTick() {
    clearInterval(page.tick);
    const m = page.meeting;
    if (!m || m.state === 'open') {
        page.tick = null;
        return;
    }
    let last = Date.now();
    const tick = () => {
        const o = page.meeting && page.meeting.occurrence;
        if (!o || page.meeting.state === 'open') return;
        const left = new Date(o.opensAt).getTime() - now();
        $('meeting-countdown').textContent = left > 0 ? countdownText(left) : 'now…';
        const slept = Date.now() - last > 5000; // the timer stood still: the computer slept
        last = Date.now();
        const since = Date.now() - page.askedAt;
        if ((left <= 0 && since >= OPEN_RETRY_MS) || slept || since >= RECHECK_MS) load();
    };
    tick();
    page.tick = setInterval(tick, 1000);
}

/** showFailed says plainly why the link does not admit. */
function showFailed(e) {
    clearInterval(page.tick);
    page.tick = null;
    let title, text;
    let ask = '';
    switch (e.status === 404 ? 'link-not-found' : e.code) {
    case 'link-expired':
        title = 'This link’s meetings are over';
        if (/new link/i.test(e.message || '')) {
            text = 'The group leader has been sent a new link for the meetings to come.';
            ask = 'Ask the group leader for the new link.';
        } else {
            text = 'All the meetings this link was for have taken place.';
            ask = 'Ask the group leader when the group meets next.';
        }
        break;
    case 'meeting-cancelled':
        title = 'This meeting is cancelled';
        text = 'The coordinator cancelled it, and the group leader was told.';
        ask = 'Ask the group leader when the group meets next.';
        break;
    case 'link-not-found':
        title = 'This link is not valid';
        text = 'No meeting has this link. Check that you opened the whole link you were sent.';
        ask = 'Ask the group leader for the meeting’s link.';
        break;
    case 'network':
        title = 'The server could not be reached';
        text = 'Check your internet connection, then reload this page.';
        break;
    default:
        title = 'This link does not work right now';
        text = describe(e);
    }
    $('meeting-failed').dataset.code = e.code || '';
    $('meeting-failed-title').textContent = title;
    $('meeting-failed-text').textContent = text;
    $('meeting-failed-ask').textContent = ask;
    $('meeting-failed-ask').hidden = !ask;
    document.title = `${title} — Parley`;
    showSection('meeting-failed');
    $('meeting-failed-title').focus();
}

async function submit(ev) {
    ev.preventDefault();
    setFieldError('meeting-name', '');
    setFormMessage('meeting-message', '');
    const name = $('meeting-name').value.trim().slice(0, 64);
    if (!name) {
        setFieldError('meeting-name', 'Please enter your name: the others in the meeting see it.');
        $('meeting-name').focus();
        return;
    }
    try { localStorage.setItem(NAME_KEY, name); } catch (e) { /* private mode */ }
    if (!page.meeting || page.meeting.state !== 'open') {
        page.joinWhenOpen = true;
        $('meeting-button').textContent = 'Joining when it opens…';
        setFormMessage('meeting-message', `You will join as ${name} as soon as the meeting opens. Keep this page open.`, 'info');
        return;
    }
    await join();
}

async function join() {
    if (page.joining) return;
    page.joining = true;
    page.joinWhenOpen = false;
    const name = $('meeting-name').value.trim().slice(0, 64);
    let res;
    try {
        res = await busy($('meeting-button'), 'Joining…', () => request('POST', `/api/v1/meetings/${encodeURIComponent(page.token)}/join`, { name }));
    } catch (e) {
        page.joining = false;
        if (['link-expired', 'meeting-cancelled', 'link-not-found'].includes(e.code) || e.status === 404) { showFailed(e); return; }
        if (e.code === 'meeting-not-open') { page.joinWhenOpen = true; await load(); return; } // our clock ran ahead: wait on
        if (e.fields && e.fields.name) { setFieldError('meeting-name', e.fields.name); $('meeting-name').focus(); return; }
        setFormMessage('meeting-message', describe(e));
        return;
    }
    try {
        sessionStorage.setItem(MEETING_TICKET_KEY, JSON.stringify({
            token: res.token, expiresAt: res.expiresAt || null, room: res.room || {}, wsPath: res.wsPath || '/ws',
            name, back: location.pathname,
        }));
    } catch (e) {
        page.joining = false;
        setFormMessage('meeting-message', 'This browser does not let the page keep your place (private browsing may block it). Allow site data for this page, then try again.');
        return;
    }
    location.assign('/meeting/call');
}

function main() {
    page.token = meetingToken();
    $('meeting-form').addEventListener('submit', submit);
    $('meeting-name').addEventListener('input', () => setFieldError('meeting-name', ''));
    // Back from sleep or another tab: ask at once rather than at the next tick.
    document.addEventListener('visibilitychange', () => { if (!document.hidden && page.meeting && page.meeting.state !== 'open') load(); });
    window.addEventListener('online', () => { if (page.meeting) load(); });
    if (!page.token) { showFailed({ code: 'link-not-found' }); return; }
    load({ first: true });
}

main();
