// guest.js — /g/{token}: a guest's way into a call. The page shows the
// room's name (GET /api/v1/guest/{token}), asks for the guest's name,
// says plainly that entering it admits them to the call, and on Join gets
// a guest join token (POST /api/v1/guest/join) and goes straight into the
// call at /guest/call, handing the token over in sessionStorage (never in
// the URL; see webclient/static/guestcall.js). A link that expired, was
// revoked or is unknown gets a page saying so and who to ask.

import { request, describe } from './api.js';
import { $, setFieldError, setFormMessage, busy } from './form.js';

/** GUEST_TICKET_KEY is where the join token waits for the call page (guestcall.js reads it). */
export const GUEST_TICKET_KEY = 'parley.guest.ticket';
const NAME_KEY = 'parley.name'; // the call page's remembered name (dom.js STORAGE.name)

/** guestToken is the link's token from /g/{token}, or "". */
function guestToken() {
    const m = /^\/g\/([^/]+)\/?$/.exec(location.pathname);
    if (!m) return '';
    try { return decodeURIComponent(m[1]); } catch (e) { return ''; }
}

function showSection(id) {
    for (const s of ['guest-loading', 'guest-join', 'guest-failed']) $(s).hidden = s !== id;
}

async function load() {
    const token = guestToken();
    if (!token) { showFailed({ code: 'link-not-found' }); return; }
    let res;
    try {
        res = await request('GET', `/api/v1/guest/${encodeURIComponent(token)}`);
    } catch (e) {
        showFailed(e);
        return;
    }
    const name = (res.room && res.room.name) || 'a video call';
    $('guest-room').textContent = name;
    document.title = `${name} — Parley`;
    try { $('guest-name').value = localStorage.getItem(NAME_KEY) || ''; } catch (e) { /* private mode */ }
    showSection('guest-join');
    $('guest-name').focus();
}

/** showFailed says plainly why the link does not admit, and who to ask. */
function showFailed(e) {
    let title, text;
    let ask = true;
    switch (e.code) {
    case 'link-expired':
        title = 'This invitation has expired';
        text = 'Guest links sent by email or text message work for a limited time, and this one is over.';
        break;
    case 'link-revoked':
        title = 'This invitation was withdrawn';
        text = 'A member of the meeting room revoked this link, so it no longer admits anyone.';
        break;
    case 'link-not-found':
    case 'http-404':
        title = 'This link is not valid';
        text = 'No call has this link. Check that you opened the whole link you were sent.';
        break;
    case 'network':
        title = 'The server could not be reached';
        text = 'Check your internet connection, then reload this page.';
        ask = false;
        break;
    default:
        title = 'This link does not work right now';
        text = describe(e);
        ask = e.status !== 429;
    }
    $('guest-failed-title').textContent = title;
    $('guest-failed-text').textContent = text;
    $('guest-failed-ask').hidden = !ask;
    document.title = `${title} — Parley`;
    showSection('guest-failed');
    $('guest-failed-title').focus();
}

async function join(ev) {
    ev.preventDefault();
    setFieldError('guest-name', '');
    setFormMessage('guest-message', '');
    const name = $('guest-name').value.trim().slice(0, 64);
    if (!name) {
        setFieldError('guest-name', 'Please enter your name: the others in the call see it.');
        $('guest-name').focus();
        return;
    }
    let res;
    try {
        res = await busy($('guest-button'), 'Joining…', () => request('POST', '/api/v1/guest/join', { token: guestToken(), name }));
    } catch (e) {
        if (['link-expired', 'link-revoked', 'link-not-found'].includes(e.code)) { showFailed(e); return; }
        if (e.fields && e.fields.name) { setFieldError('guest-name', e.fields.name); $('guest-name').focus(); return; }
        setFormMessage('guest-message', describe(e));
        return;
    }
    try { localStorage.setItem(NAME_KEY, name); } catch (e) { /* private mode */ }
    try {
        sessionStorage.setItem(GUEST_TICKET_KEY, JSON.stringify({
            token: res.token, expiresAt: res.expiresAt || null, room: res.room || {}, wsPath: res.wsPath || '/ws',
            name, back: location.pathname,
        }));
    } catch (e) {
        setFormMessage('guest-message', 'This browser does not let the page keep your place (private browsing may block it). Allow site data for this page, then try again.');
        return;
    }
    location.assign('/guest/call');
}

$('guest-form').addEventListener('submit', join);
$('guest-name').addEventListener('input', () => setFieldError('guest-name', ''));
load();
