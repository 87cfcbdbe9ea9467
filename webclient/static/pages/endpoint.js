// endpoint.js — /endpoint: a member's browser or a room system signs in
// with its endpoint address and secret (a persistent cookie: a room
// system's screen stays signed in across restarts), then joins the
// group's rooms as that endpoint: Join opens the room's call page (its
// member link, the url of GET /api/v1/endpoint/me), where POST
// /api/v1/join with the cookie issues the join token for the endpoint,
// under its name.

import { request, describe } from './api.js';
import { $, setFieldError, clearErrors, showErrors, setFormMessage, failed, busy, value } from './form.js';
import { el, showView, say } from './ui.js';
import { roomURL, roomsOf } from './rooms.js';
import { initMeetingRooms } from './meetingrooms.js';

// The call page's remembered name (dom.js STORAGE.name): its join form
// starts with the endpoint's name.
const NAME_KEY = 'parley.name';

const REFRESH_MS = 15000; // how often the room list is refreshed

// page is the signed-in endpoint, owned by this module.
const page = { me: null, timer: null, rooms: null };

function showSignin(message = '') {
    clearInterval(page.timer);
    page.timer = null;
    page.me = null;
    showView(false);
    document.title = 'Endpoint — Parley';
    setFormMessage('signin-message', message, 'info');
    $('signin-address').focus();
}

async function signIn(ev) {
    ev.preventDefault();
    clearErrors($('signin-form'));
    const errors = {};
    const address = value('signin-address');
    if (!address) errors['signin-address'] = 'Please enter the endpoint address, for example alice@choir.';
    else if (!address.includes('@')) errors['signin-address'] = 'An endpoint address looks like name@group, for example alice@choir.';
    if (!$('signin-secret').value.trim()) errors['signin-secret'] = 'Please enter the secret.';
    if (Object.keys(errors).length) { showErrors(errors); return; }
    try {
        await busy($('signin-button'), 'Signing in…', () => request('POST', '/api/v1/endpoint/login',
            { address, secret: $('signin-secret').value.trim() }));
    } catch (e) {
        if (e.status === 401) {
            setFormMessage('signin-message', 'The endpoint address or the secret is not right, or the endpoint is disabled.');
            $('signin-secret').focus();
        } else {
            failed(e, 'signin-message', (n) => ({ address: 'signin-address', secret: 'signin-secret' })[n] || n);
        }
        return;
    }
    $('signin-secret').value = '';
    await load({ focus: true });
}

async function signOut() {
    try { await request('POST', '/api/v1/endpoint/logout'); } catch (e) { /* signed out either way */ }
    showSignin('You are signed out.');
}

async function load({ focus = false } = {}) {
    let me;
    try {
        me = await request('GET', '/api/v1/endpoint/me');
    } catch (e) {
        if (e.status === 401) showSignin(page.me ? 'This endpoint was signed out: its credentials changed, or it was disabled or removed.' : '');
        else if (page.me) say(describe(e), 'error');
        else showSignin(describe(e));
        return;
    }
    page.me = me;
    try { localStorage.setItem(NAME_KEY, me.name || ''); } catch (e) { /* private mode */ }
    $('endpoint-name').textContent = me.name || me.address;
    $('endpoint-address').textContent = me.address || '';
    $('endpoint-group').textContent = (me.group && me.group.name) || 'your group';
    $('join-as').textContent = me.name || me.address;
    document.title = `${me.name || me.address} — Parley`;
    const rooms = roomsOf(me);
    $('room-list').replaceChildren(...rooms.map(roomRow));
    $('rooms-empty').hidden = rooms.length > 0;
    page.rooms.filter(); // the search and the open action menu outlast the refresh
    showView(true);
    if (!page.timer) page.timer = setInterval(() => { if (!document.hidden && !page.rooms.open()) load(); }, REFRESH_MS);
    if (focus) $('endpoint-name').focus();
}

// roomRow: the room's name opens its action menu (meetingrooms.js), Join beside it.
function roomRow(room) {
    return page.rooms.row(room, {
        actions: el('div', { class: 'room-actions' },
            el('a', { class: 'button primary', href: roomURL(room), text: 'Join', 'aria-label': `Join ${room.name}` })),
    });
}

function main() {
    page.rooms = initMeetingRooms({
        base: '/api/v1/endpoint/rooms',
        onSignedOut: () => showSignin('This endpoint was signed out: its credentials changed, or it was disabled or removed.'),
        reload: () => load(),
    });
    $('signin-form').addEventListener('submit', signIn);
    $('signout-button').addEventListener('click', signOut);
    for (const input of document.querySelectorAll('input')) {
        input.addEventListener('input', () => setFieldError(input.id, ''));
    }
    load();
}

main();
