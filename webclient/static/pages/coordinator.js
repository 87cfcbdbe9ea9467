// coordinator.js — /coordinator: the bookings coordinator (a group
// administrator the operator granted the role, signed in at /admin)
// approves or declines the group leaders' requests, sets auto-approve,
// and for every booking on each meeting account cancels or moves a single
// meeting (rechecked against the 30-minute rule: a 409 lists the dates
// taken and the alternatives) or cancels the whole booking. The API:
// /api/v1/coordinator/… (docs/api.md, "Bookings").

import { request, describe } from './api.js';
import { $, setFieldError } from './form.js';
import { el, say } from './ui.js';
import { DEFAULT_ZONE, span, dayOf, clockTime, ymdIn, stateBadge, upcoming, conflictView } from './bookings.js';

// page is this module's state: the zone of the last answer, and which
// bookings' meeting lists are open (kept across a reload of the list).
const page = { tz: DEFAULT_ZONE, open: new Set() };

function showSignin(title, text, message = '') {
    $('signin-view').hidden = false;
    $('main-view').hidden = true;
    document.body.dataset.view = 'signin';
    if (title) $('signin-title').textContent = title;
    if (text) $('signin-text').textContent = text;
    $('signin-message').textContent = message;
    $('signin-message').hidden = !message;
    $('signin-title').focus();
}

async function main() {
    let me;
    try {
        me = await request('GET', '/api/v1/coordinator/me');
    } catch (e) {
        if (e.status === 401) {
            showSignin('', '');
        } else if (e.status === 403 || e.code === 'not-coordinator') {
            showSignin('You are not a bookings coordinator',
                'You are signed in as a group’s administrator, but that group has not been given the coordinator role. The service operator grants it (parley coordinator grant GROUP).');
            $('signin-link').textContent = 'Sign in as another administrator';
        } else if (e.status === 404) {
            showSignin('Bookings are off on this server', 'This server has no shared meeting accounts to book.');
            $('signin-link').hidden = true;
        } else {
            showSignin('', '', describe(e));
        }
        return;
    }
    $('coord-name').textContent = me && me.name ? `Signed in as ${me.name}` : '';
    $('signin-view').hidden = true;
    $('main-view').hidden = false;
    document.body.dataset.view = 'main';
    $('auto-approve').addEventListener('change', setAutoApprove);
    await load();
    $('coord-title').focus();
}

async function load() {
    let res;
    try {
        res = await request('GET', '/api/v1/coordinator/bookings');
    } catch (e) {
        if (e.status === 401 || e.status === 403) { showSignin('', '', 'You were signed out. Please sign in again.'); return; }
        say(describe(e), 'error');
        return;
    }
    const all = Array.isArray(res.bookings) ? res.bookings : [];
    const accounts = Array.isArray(res.accounts) ? res.accounts : [];
    page.tz = (all[0] && all[0].timeZone) || res.timeZone || DEFAULT_ZONE;
    $('auto-approve').checked = !!(res.settings && res.settings.autoApprove);
    const pending = all.filter((s) => s.state === 'requested');
    $('pending-list').replaceChildren(...pending.map(pendingRow));
    $('pending-empty').hidden = pending.length > 0;
    drawAccounts(accounts, all.filter((s) => s.state === 'approved'));
}

async function setAutoApprove() {
    const on = $('auto-approve').checked;
    try {
        await request('PUT', '/api/v1/coordinator/settings', { autoApprove: on });
    } catch (e) {
        $('auto-approve').checked = !on;
        say(describe(e), 'error');
        return;
    }
    say(on ? 'Requests that fit are now approved at once.' : 'Each request now waits for you to approve it.', 'ok');
    await load();
}

// ---------------------------------------------------------------- requests

function who(s) {
    const g = s.group && s.group.name ? s.group.name : 'A group';
    const l = s.leader && s.leader.name ? `, group leader ${s.leader.name}${s.leader.email ? ` (${s.leader.email})` : ''}` : '';
    return g + l;
}

function pendingRow(s) {
    const tz = s.timeZone || page.tz;
    const first = (s.occurrences || [])[0];
    return el('li', { class: 'coord-series', 'data-id': s.id, 'data-state': s.state },
        el('div', { class: 'booking-head' }, el('span', { class: 'booking-title', text: s.title || 'Meeting' }), stateBadge(s.state)),
        el('p', { class: 'muted small-text', text: who(s) }),
        el('p', { text: s.summary || '' }),
        el('p', { class: 'muted small-text', text: [
            s.account && s.account.name ? `On ${s.account.name}` : 'Any free account',
            first ? `first ${span(first, tz)}` : '',
        ].filter(Boolean).join(' · ') }),
        el('div', { class: 'coord-actions' },
            el('button', { type: 'button', class: 'button small danger-subtle coord-decline', text: 'Decline', 'aria-label': `Decline ${s.title}`,
                onclick: () => decide(s, 'decline') }),
            el('button', { type: 'button', class: 'button small primary coord-approve', text: 'Approve', 'aria-label': `Approve ${s.title}`,
                onclick: () => decide(s, 'approve') })));
}

async function decide(s, what) {
    let body = {};
    if (what === 'decline') {
        const reason = await askReason(`Decline ${s.title || 'this request'}?`,
            `${who(s)} is emailed that it is declined, with your reason.`, 'Decline request', { required: true });
        if (reason === null) return;
        body = { reason };
    }
    if (!(await post(`/api/v1/coordinator/bookings/${encodeURIComponent(s.id)}/${what}`, body))) return;
    say(what === 'approve'
        ? `${s.title || 'The booking'} is approved: the group leader is emailed the link and the host key.`
        : `${s.title || 'The request'} is declined: the group leader is told.`, 'ok');
    await load();
}

// post sends one coordinator command; it reports success, and shows a
// failure (a 409 comes back to the caller as the error).
async function post(path, body, { conflict = null } = {}) {
    try {
        await request('POST', path, body);
        return true;
    } catch (e) {
        if (e.status === 401) { showSignin('', '', 'You were signed out. Please sign in again.'); return false; }
        if (e.code === 'booking-conflict' && conflict) { conflict(e); return false; }
        say(describe(e), 'error');
        return false;
    }
}

// ---------------------------------------------------------------- bookings per account

function drawAccounts(accounts, approved) {
    const byAccount = new Map(accounts.map((a) => [a.id, []]));
    for (const s of approved) {
        const id = s.account && s.account.id;
        if (!byAccount.has(id)) byAccount.set(id, []);
        byAccount.get(id).push(s);
    }
    const names = new Map(accounts.map((a) => [a.id, a.name]));
    const out = [];
    for (const [id, list] of byAccount) {
        const name = names.get(id) || (list[0] && list[0].account && list[0].account.name) || 'No account';
        out.push(el('h3', { class: 'coord-account', 'data-account': id || '', text: name }));
        if (!list.length) { out.push(el('p', { class: 'muted small-text', text: 'No confirmed bookings.' })); continue; }
        out.push(el('ul', { class: 'coord-list' }, ...list.map(seriesRow)));
    }
    $('accounts').replaceChildren(...out);
}

function seriesRow(s) {
    const tz = s.timeZone || page.tz;
    const next = upcoming(s);
    const details = el('details', { class: 'coord-occurrences', open: page.open.has(s.id) },
        el('summary', { text: next.length ? `Meetings to come (${next.length})` : 'No meetings to come' }),
        el('ul', { class: 'occurrence-list' }, ...next.map((o) => occurrenceRow(s, o, tz))));
    details.addEventListener('toggle', () => { if (details.open) page.open.add(s.id); else page.open.delete(s.id); });
    return el('li', { class: 'coord-series', 'data-id': s.id, 'data-state': s.state, 'data-frequency': (s.recurrence && s.recurrence.frequency) || '' },
        el('div', { class: 'booking-head' }, el('span', { class: 'booking-title', text: s.title || 'Meeting' }), stateBadge(s.state)),
        el('p', { class: 'muted small-text', text: who(s) }),
        el('p', { text: s.summary || '' }),
        details,
        el('div', { class: 'coord-actions' },
            el('button', { type: 'button', class: 'button small danger-subtle coord-cancel', text: 'Cancel booking',
                'aria-label': `Cancel all meetings of ${s.title}`, onclick: () => cancelSeries(s) })));
}

function occurrenceRow(s, o, tz) {
    const li = el('li', { class: 'occurrence', 'data-index': String(o.index), 'data-state': o.state || 'scheduled' },
        el('span', { class: 'occurrence-when', text: span(o, tz) }),
        o.state === 'moved' ? el('span', { class: 'occurrence-state', text: 'moved' }) : null,
        el('button', { type: 'button', class: 'button small subtle occurrence-move', text: 'Move', 'aria-label': `Move the meeting of ${span(o, tz)}`,
            onclick: () => openMove(li, s, o, tz) }),
        el('button', { type: 'button', class: 'button small danger-subtle occurrence-cancel', text: 'Cancel', 'aria-label': `Cancel the meeting of ${span(o, tz)}`,
            onclick: () => cancelOccurrence(s, o, tz) }));
    return li;
}

async function cancelSeries(s) {
    const reason = await askReason(`Cancel every meeting of ${s.title || 'this booking'}?`,
        'The booking’s times are freed, its link stops working, and the group leader is emailed your reason.', 'Cancel booking');
    if (reason === null) return;
    if (!(await post(`/api/v1/coordinator/bookings/${encodeURIComponent(s.id)}/cancel`, { reason }))) return;
    say(`${s.title || 'The booking'} is cancelled.`, 'ok');
    await load();
}

async function cancelOccurrence(s, o, tz) {
    const reason = await askReason(`Cancel the meeting of ${span(o, tz)}?`,
        'Only this meeting is cancelled; the others stay. The group leader is emailed your reason.', 'Cancel meeting');
    if (reason === null) return;
    if (!(await post(`/api/v1/coordinator/bookings/${encodeURIComponent(s.id)}/occurrences/${o.index}/cancel`, { reason }))) return;
    say(`The meeting of ${span(o, tz)} is cancelled.`, 'ok');
    page.open.add(s.id);
    await load();
}

// openMove shows the move form under an occurrence: a date and a start
// time; a conflict shows the dates taken and alternatives to choose.
function openMove(li, s, o, tz) {
    const old = li.querySelector('.move-form');
    if (old) { old.remove(); return; }
    const id = `move-${s.id}-${o.index}`;
    const date = el('input', { id: `${id}-date`, type: 'date', value: ymdIn(o.start, tz), required: true, 'aria-describedby': `${id}-date-error` });
    const time = el('input', { id: `${id}-time`, type: 'time', value: clockTime(o.start, tz), required: true, 'aria-describedby': `${id}-time-error` });
    const out = el('div', { class: 'move-conflict' });
    const submit = el('button', { type: 'submit', class: 'button small primary move-submit', text: 'Move meeting' });
    const form = el('form', { class: 'move-form', novalidate: true },
        el('div', { class: 'field' }, el('label', { for: date.id, text: 'New date' }), date, el('p', { id: `${id}-date-error`, class: 'field-error', hidden: true })),
        el('div', { class: 'field' }, el('label', { for: time.id, text: 'New start time' }), time, el('p', { id: `${id}-time-error`, class: 'field-error', hidden: true })),
        submit,
        el('button', { type: 'button', class: 'button small subtle', text: 'Back', onclick: () => form.remove() }),
        out);
    form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        setFieldError(date.id, date.value ? '' : 'Please choose the new date.');
        setFieldError(time.id, time.value ? '' : 'Please enter the new start time.');
        if (!date.value || !time.value) return;
        out.replaceChildren();
        submit.disabled = true;
        let moved = false;
        try {
            moved = await post(`/api/v1/coordinator/bookings/${encodeURIComponent(s.id)}/occurrences/${o.index}/move`,
                { date: date.value, startTime: time.value }, {
                    conflict: (e) => out.replaceChildren(conflictView(e.body || {}, tz, (a) => {
                        if (a.firstDate) date.value = a.firstDate;
                        if (a.startTime) time.value = a.startTime;
                        out.replaceChildren(el('p', { class: 'small-text muted', text: `Now ${a.startTime} on ${dayOf(a.firstDate)}: press Move meeting to move it there.` }));
                        submit.focus();
                    })),
                });
        } finally {
            submit.disabled = false;
        }
        if (!moved) return;
        say(`The meeting of ${span(o, tz)} is moved to ${dayOf(date.value)} at ${time.value}.`, 'ok');
        page.open.add(s.id);
        await load();
    });
    li.append(form);
    date.focus();
}

// askReason asks for a reason in #reason-dialog; it resolves to the
// reason ("" allowed unless required), or null when the coordinator backs out.
function askReason(title, text, action, { required = false } = {}) {
    const dlg = $('reason-dialog');
    $('reason-title').textContent = title;
    $('reason-text').textContent = text;
    $('reason-ok').textContent = action;
    $('reason-input').value = '';
    setFieldError('reason-input', '');
    return new Promise((resolve) => {
        const form = $('reason-form');
        const onSubmit = (ev) => {
            const ok = ev.submitter && ev.submitter.value === 'ok';
            if (ok && required && !$('reason-input').value.trim()) {
                ev.preventDefault();
                setFieldError('reason-input', 'Please give the group leader a reason.');
                $('reason-input').focus();
                return;
            }
            form.removeEventListener('submit', onSubmit);
            resolve(ok ? $('reason-input').value.trim() : null);
        };
        form.addEventListener('submit', onSubmit);
        dlg.addEventListener('cancel', () => { form.removeEventListener('submit', onSubmit); resolve(null); }, { once: true });
        dlg.showModal();
        $('reason-input').focus();
    });
}

main();
