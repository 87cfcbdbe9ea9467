// invite.js — the call page's More menu and its "Invite guest" panel,
// for hosts and members (a guest never sees them): send a guest link by
// email or by text message, or copy instructions with the room's guest
// link; below, this room's invitations with their state, refreshed while
// the panel is open, each revocable. The API (docs/api.md, Invitations)
// is authenticated by the participant's own join token (Bearer).

import { requestJoin } from './protocol.js';
import { $, show } from './dom.js';
import { el } from './pages/ui.js';

const REFRESH_MS = 3000; // how often the open panel refreshes the invitations

/** INSTRUCTIONS are the words before the link in option 3 (the seed's). */
export const INSTRUCTIONS = 'Remember, always use the latest version of Google Chrome, Microsoft Edge or Apple Safari. You are invited to join me in a video call at';

const STATE_TEXT = {
    queued: 'Waiting to be sent',
    sent: 'Sent',
    delivered: 'Delivered',
    opened: 'Opened',
    joined: 'Joined',
    failed: 'Could not be sent',
    revoked: 'Revoked',
    expired: 'Expired',
};

// invite is this module's state. session() is {token, role, link, name}
// of the call on screen, or null (set by initInvite); role is ours.
const invite = {
    session: () => null,
    role: '',
    timer: null,
    url: '',         // the room's standing guest link, once fetched
    token: '',       // a fresh join token got after the call's expired
    loading: false,
    // revoked are the invitations revoked from this page: a joined one
    // stays "joined" in the list (joined wins), its link revoked all the same.
    revoked: new Set(),
};

/** initInvite adds the More button, its menu and the panel to the call page. */
export function initInvite({ session }) {
    invite.session = session;
    const bar = document.querySelector('.call-bar');
    const more = el('button', {
        type: 'button', id: 'more-button', class: 'round-button large more-button', hidden: true,
        'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-controls': 'more-menu', 'aria-label': 'More', title: 'More',
    });
    more.innerHTML = '<svg class="filled" viewBox="0 0 24 24" aria-hidden="true"><circle cx="5" cy="12" r="2"/><circle cx="12" cy="12" r="2"/><circle cx="19" cy="12" r="2"/></svg>';
    const menu = el('div', { id: 'more-menu', class: 'more-menu', role: 'menu', hidden: true, 'aria-label': 'More' },
        el('button', { type: 'button', id: 'invite-guest-item', role: 'menuitem', class: 'menu-item', text: 'Invite guest', onclick: openPanel }));
    bar.insertBefore(more, $('leave-button'));
    bar.append(menu);
    more.addEventListener('click', () => openMenu(menu.hidden));
    document.addEventListener('click', (ev) => {
        if (!menu.hidden && !menu.contains(ev.target) && !more.contains(ev.target)) openMenu(false);
    });
    document.addEventListener('keydown', (ev) => {
        if (ev.key === 'Escape' && !menu.hidden) { openMenu(false); more.focus(); }
    });
    document.body.append(panel());
}

function openMenu(open) {
    show($('more-menu'), open);
    $('more-button').setAttribute('aria-expanded', String(open));
    if (open) $('invite-guest-item').focus();
}

/**
 * inviteRole shows or hides the More button for our role: hosts and
 * members of a room invite (a direct call, with no room link, has no
 * guests); a guest sees neither More nor the room's member link.
 */
export function inviteRole(role) {
    invite.role = role || '';
    const s = invite.session();
    const may = (role === 'host' || role === 'member') && !!(s && s.link);
    show($('more-button'), may);
    if (role === 'guest') show($('copy-link-button'), false);
    if (!may) closeInvite();
}

/** closeInvite closes the menu and the panel (the call ended, or we may no longer invite). */
export function closeInvite() {
    if (!$('more-menu')) return;
    openMenu(false);
    const d = $('invite-dialog');
    if (d.open) d.close();
}

// ---------------------------------------------------------------- the panel

function panel() {
    const d = el('dialog', { id: 'invite-dialog', class: 'dialog invite-dialog', 'aria-labelledby': 'invite-title' });
    d.innerHTML = `
<div class="invite-head">
  <h2 id="invite-title">Invite guest</h2>
  <form method="dialog"><button type="submit" class="icon-button" id="invite-close" aria-label="Close the invite panel">
    <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18"/></svg></button></form>
</div>
<p class="muted invite-note">As soon as a guest opens the link and enters their details, they are admitted to the call.</p>
<form id="invite-email-form" class="invite-option" novalidate>
  <label for="invite-email"><span class="option-number">1</span> Send a guest link to this call by email</label>
  <div class="row">
    <input id="invite-email" type="email" inputmode="email" autocomplete="off" spellcheck="false" maxlength="50" placeholder="guest@example.org" aria-describedby="invite-email-error">
    <button type="submit" id="invite-email-send" class="button primary">Send email</button>
  </div>
  <p id="invite-email-error" class="field-error" role="alert" hidden></p>
</form>
<form id="invite-sms-form" class="invite-option" novalidate>
  <label for="invite-sms"><span class="option-number">2</span> Send a guest link to this call by text message</label>
  <p id="invite-sms-hint" class="hint">To a UK mobile number.</p>
  <div class="row">
    <input id="invite-sms" type="tel" inputmode="tel" autocomplete="off" maxlength="32" placeholder="07700 900123" aria-describedby="invite-sms-hint invite-sms-error">
    <button type="submit" id="invite-sms-send" class="button primary">Send text message</button>
  </div>
  <p id="invite-sms-error" class="field-error" role="alert" hidden></p>
</form>
<div class="invite-option">
  <label for="invite-text"><span class="option-number">3</span> Copy and paste the following instructions and send to your guest</label>
  <textarea id="invite-text" class="invite-text" rows="3" readonly aria-describedby="invite-text-error"></textarea>
  <div class="row end"><button type="button" id="invite-copy" class="button" disabled>Copy</button></div>
  <p id="invite-text-error" class="field-error" role="alert" hidden></p>
</div>
<section class="invitations" aria-labelledby="invitations-title">
  <h3 id="invitations-title">Invitations to this room</h3>
  <p id="invitations-empty" class="muted small-text">None yet.</p>
  <ul id="invitation-list" class="invitation-list"></ul>
  <p id="invitations-error" class="field-error" role="alert" hidden></p>
</section>`;
    d.querySelector('#invite-email-form').addEventListener('submit', (ev) => { ev.preventDefault(); send('email'); });
    d.querySelector('#invite-sms-form').addEventListener('submit', (ev) => { ev.preventDefault(); send('sms'); });
    d.querySelector('#invite-copy').addEventListener('click', copyInstructions);
    for (const id of ['invite-email', 'invite-sms']) {
        d.querySelector(`#${id}`).addEventListener('input', () => fieldError(id, ''));
    }
    d.addEventListener('close', () => {
        clearInterval(invite.timer);
        invite.timer = null;
        if (!$('more-button').hidden) $('more-button').focus();
    });
    return d;
}

function openPanel() {
    openMenu(false);
    const d = $('invite-dialog');
    for (const id of ['invite-email', 'invite-sms', 'invite-text']) fieldError(id, '');
    if (!d.open) d.showModal();
    $('invite-email').focus();
    loadGuestLink();
    refresh();
    clearInterval(invite.timer);
    invite.timer = setInterval(() => { if (d.open && !document.hidden) refresh(); }, REFRESH_MS);
}

function fieldError(id, text) {
    const out = $(`${id}-error`);
    out.textContent = text;
    show(out, !!text);
    if (text) $(id).setAttribute('aria-invalid', 'true');
    else $(id).removeAttribute('aria-invalid');
}

async function send(via) {
    const id = via === 'email' ? 'invite-email' : 'invite-sms';
    const button = $(`${id}-send`);
    const to = $(id).value.trim();
    fieldError(id, '');
    if (!to) {
        fieldError(id, via === 'email' ? 'Please enter the guest’s email address.' : 'Please enter the guest’s UK mobile number.');
        $(id).focus();
        return;
    }
    const label = button.textContent;
    button.disabled = true;
    button.textContent = 'Sending…';
    try {
        const s = invite.session();
        const res = await call('POST', '/api/v1/invitations', { via, to, name: (s && s.name) || '' });
        $(id).value = '';
        const inv = res && res.invitation;
        const where = inv && inv.to ? inv.to : to;
        $('invitations-error').textContent = '';
        show($('invitations-error'), false);
        announce(via === 'email' ? `A guest link is on its way to ${where}.` : `A text message with a guest link is on its way to ${where}.`);
        await refresh();
    } catch (e) {
        fieldError(id, fieldWords(e, 'to') || words(e));
        $(id).focus();
    } finally {
        button.disabled = false;
        button.textContent = label;
    }
}

async function loadGuestLink() {
    if (invite.url) { showInstructions(); return; }
    $('invite-text').value = 'Getting the room’s guest link…';
    try {
        const res = await call('GET', '/api/v1/rooms/guest-link');
        invite.url = (res && res.url) || '';
    } catch (e) {
        $('invite-text').value = '';
        fieldError('invite-text', words(e));
        return;
    }
    showInstructions();
}

function showInstructions() {
    $('invite-text').value = `${INSTRUCTIONS} ${invite.url}`;
    $('invite-text').dataset.url = invite.url;
    $('invite-copy').disabled = !invite.url;
}

async function copyInstructions() {
    const text = $('invite-text').value;
    const button = $('invite-copy');
    let ok = false;
    try {
        await navigator.clipboard.writeText(text);
        ok = true;
    } catch (e) {
        $('invite-text').focus();
        $('invite-text').select();
        try { ok = document.execCommand('copy'); } catch (e2) { ok = false; }
    }
    if (ok) {
        button.textContent = 'Copied';
        announce('The instructions are copied. Paste them into an email or chat to your guest.');
    } else {
        // The text stays selected: the person copies it themselves.
        button.textContent = 'Copy';
        fieldError('invite-text', 'This browser did not let the page copy. The text is selected: copy it with Ctrl+C (⌘C on a Mac).');
    }
    setTimeout(() => { button.textContent = 'Copy'; }, 2500);
}

function announce(text) {
    const status = $('invite-status') || (() => {
        const p = el('p', { id: 'invite-status', class: 'notice invite-status', role: 'status' });
        $('invitations-title').before(p);
        return p;
    })();
    status.textContent = text;
}

// ---------------------------------------------------------------- the list

async function refresh() {
    if (invite.loading) return;
    invite.loading = true;
    try {
        const res = await call('GET', '/api/v1/invitations');
        render((res && Array.isArray(res.invitations)) ? res.invitations : []);
        show($('invitations-error'), false);
    } catch (e) {
        $('invitations-error').textContent = words(e);
        show($('invitations-error'), true);
    } finally {
        invite.loading = false;
    }
}

function render(list) {
    show($('invitations-empty'), list.length === 0);
    $('invitation-list').replaceChildren(...list.map((inv) => {
        const state = String(inv.state || 'queued');
        const revoked = state === 'revoked' || invite.revoked.has(inv.id);
        const ended = revoked || state === 'expired';
        let text = STATE_TEXT[state] || state;
        if (state === 'joined') text = inv.joinedName ? `Joined: ${inv.joinedName}` : 'Joined';
        if (state === 'joined' && revoked) text += ' · link revoked';
        return el('li', { class: 'invitation', 'data-id': inv.id, 'data-state': state, 'data-revoked': revoked ? 'true' : null },
            el('span', { class: 'invitation-via', text: inv.via === 'sms' ? 'Text' : 'Email' }),
            el('span', { class: 'invitation-to', text: inv.to || '' }),
            el('span', {
                class: 'invitation-state', 'data-state': state, title: inv.error || null,
                text,
            }),
            ended ? null : el('button', {
                type: 'button', class: 'button small subtle invitation-revoke', text: 'Revoke',
                'aria-label': `Revoke the invitation to ${inv.to || 'this guest'}`, onclick: () => revoke(inv),
            }));
    }));
}

async function revoke(inv) {
    try {
        await call('DELETE', `/api/v1/invitations/${encodeURIComponent(inv.id)}`);
        invite.revoked.add(inv.id);
        announce(`The invitation to ${inv.to || 'the guest'} is revoked: its link no longer admits anyone.`);
    } catch (e) {
        $('invitations-error').textContent = words(e);
        show($('invitations-error'), true);
    }
    await refresh();
}

// ---------------------------------------------------------------- the API

/** InviteError is a refused request: the HTTP status, the server's code and words, per-field words. */
class InviteError extends Error {
    constructor(status, code, message, fields = {}, retryAfter = 0) {
        super(message);
        this.status = status;
        this.code = code;
        this.fields = fields;
        this.retryAfter = retryAfter;
    }
}

/**
 * call sends one invitations request with our join token. When the
 * token has expired (join tokens are short-lived) it gets a fresh one
 * through the room link and tries once more.
 */
async function call(method, path, body) {
    const s = invite.session();
    if (!s || !s.token) throw new InviteError(0, 'not-joined', 'You are not in the call.');
    try {
        return await send1(method, path, body, invite.token || s.token);
    } catch (e) {
        if (e.status !== 401 || !s.link) throw e;
        const t = await requestJoin(s.link).catch(() => null);
        if (!t) throw e;
        invite.token = t.token;
        return send1(method, path, body, t.token);
    }
}

async function send1(method, path, body, token) {
    const init = { method, credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json', Authorization: `Bearer ${token}` } };
    if (body !== undefined) {
        init.headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
    }
    let resp;
    try {
        resp = await fetch(path, init);
    } catch (e) {
        throw new InviteError(0, 'network', 'The server could not be reached. Check your internet connection and try again.');
    }
    let data = {};
    const text = await resp.text();
    if (text) {
        try { data = JSON.parse(text); } catch (e) { data = {}; }
    }
    if (resp.ok) return data;
    let code = '', message = '', fields = {};
    if (data && typeof data.error === 'object' && data.error) {
        code = data.error.code || '';
        message = data.error.message || '';
        fields = data.error.fields || data.fields || {};
    } else if (data && typeof data.error === 'string') {
        code = data.error;
        message = data.message || '';
        fields = data.fields || {};
    }
    throw new InviteError(resp.status, code || `http-${resp.status}`, message, fields, Number(resp.headers.get('Retry-After')) || 0);
}

function fieldWords(e, name) {
    const f = e && e.fields;
    if (!f) return '';
    return sentence(f[name] || Object.values(f)[0] || '');
}

/** words is what the person reads for a refused request. */
function words(e) {
    if (!(e instanceof InviteError)) return 'Something went wrong. Please try again.';
    if (e.code === 'not-a-member') return 'Only members of this room can invite guests.';
    if (e.status === 429) {
        if (e.message) return sentence(e.message); // it says when to try again
        return e.retryAfter ? `Too many for now. Try again in ${e.retryAfter < 90 ? `${e.retryAfter} seconds` : `${Math.ceil(e.retryAfter / 60)} minutes`}.` : 'Too many for now. Try again later.';
    }
    if (e.message) return sentence(e.message);
    return `The server answered with an error (${e.status || e.code}). Please try again.`;
}

function sentence(s) {
    s = String(s || '').trim();
    if (!s) return s;
    s = s[0].toUpperCase() + s.slice(1);
    return /[.!?]$/.test(s) ? s : s + '.';
}
