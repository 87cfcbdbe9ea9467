// group.js — /group: group users sign in with the group name and the
// meeting PIN, then create, share and delete the group's rooms
// (/api/v1/group/…, see docs/api.md); the Meeting Rooms list
// (meetingrooms.js) gives each room its action menu: the guest link and
// the member list; the Bookings section (groupbookings.js) the group's
// bookings of the shared meeting accounts and the form to book one.

import { request, describe, sentence } from './api.js';
import { $, setFieldError, clearErrors, showErrors, setFormMessage, failed, busy, value } from './form.js';
import { el, copyButton, confirmAction, showView, say } from './ui.js';
import { roomURL, roomsOf } from './rooms.js';
import { initMeetingRooms } from './meetingrooms.js';
import { initBookings, loadBookings } from './groupbookings.js';

const GROUP_KEY = 'parley.group.name'; // the group signed in to, for the heading

// page is what this module keeps of the signed-in view: the last
// answer's endpoints (for the Members action) and the Meeting Rooms list.
const page = { endpoints: null, rooms: null };

function showSignin(message = '') {
    showView(false);
    document.title = 'Group rooms — Parley';
    setFormMessage('signin-message', message, 'info');
    try { $('signin-group').value = $('signin-group').value || sessionStorage.getItem(GROUP_KEY) || ''; } catch (e) { /* private mode */ }
    ($('signin-group').value ? $('signin-pin') : $('signin-group')).focus();
}

async function signIn(ev) {
    ev.preventDefault();
    clearErrors($('signin-form'));
    const errors = {};
    const pin = $('signin-pin').value.trim();
    if (!value('signin-group')) errors['signin-group'] = 'Please enter the group name.';
    if (!pin) errors['signin-pin'] = 'Please enter the meeting PIN.';
    else if (!/^\d+$/.test(pin)) errors['signin-pin'] = 'The PIN has only digits (0 to 9).';
    if (Object.keys(errors).length) { showErrors(errors); return; }
    let res;
    try {
        res = await busy($('signin-button'), 'Signing in…', () => request('POST', '/api/v1/group/login',
            { groupName: value('signin-group'), pin }));
    } catch (e) {
        if (e.status === 401) {
            setFormMessage('signin-message', 'The group name or the PIN is not right.');
            $('signin-pin').focus();
        } else {
            failed(e, 'signin-message', (n) => ({ groupName: 'signin-group', pin: 'signin-pin' })[n] || n);
        }
        return;
    }
    $('signin-pin').value = '';
    const name = (res && res.group && res.group.name) || value('signin-group');
    try { sessionStorage.setItem(GROUP_KEY, name); } catch (e) { /* private mode */ }
    await load({ focus: true });
}

async function signOut() {
    try { await request('POST', '/api/v1/group/logout'); } catch (e) { /* signed out either way */ }
    showSignin('You are signed out.');
}

async function load({ focus = false } = {}) {
    let res;
    try {
        res = await request('GET', '/api/v1/group/rooms');
    } catch (e) {
        showSignin(e.status === 401 ? '' : describe(e));
        return;
    }
    let name = (res.group && res.group.name) || '';
    try { name = name || sessionStorage.getItem(GROUP_KEY) || ''; } catch (e) { /* private mode */ }
    $('group-name').textContent = name ? `${name}: rooms` : 'The group’s rooms';
    document.title = `${name || 'Group'} rooms — Parley`;
    page.endpoints = Array.isArray(res.endpoints) ? res.endpoints : null;
    renderRooms(roomsOf(res));
    showView(true);
    if (focus) $('room-name').focus();
    await loadBookings();
}

function renderRooms(rooms) {
    $('room-list').replaceChildren(...rooms.map(roomRow));
    $('rooms-empty').hidden = rooms.length > 0;
    page.rooms.filter();
}

// roomRow: the room's name opens its action menu (meetingrooms.js); Open
// and Delete beside it; below, the member link (members join with it).
function roomRow(room) {
    const url = roomURL(room);
    const linkInput = el('input', { type: 'text', readonly: true, value: url, class: 'room-link', 'aria-label': `Member link of ${room.name}` });
    return page.rooms.row(room, {
        actions: el('div', { class: 'room-actions' },
            el('a', { class: 'button small', href: url, text: 'Open', 'aria-label': `Open ${room.name}` }),
            el('button', { type: 'button', class: 'button small subtle danger-text', text: 'Delete',
                'aria-label': `Delete ${room.name}`, onclick: () => deleteRoom(room) })),
        extra: el('div', { class: 'copy-row', title: 'The member link: whoever opens it joins as a member. Guests get the meeting room link.' },
            linkInput, copyButton('Copy member link', () => url, { select: linkInput })),
    });
}

// groupEndpoints are the group's endpoints a room's members are chosen
// from: in the rooms answer, or from /api/v1/group/endpoints.
async function groupEndpoints() {
    if (page.endpoints) return page.endpoints;
    const res = await request('GET', '/api/v1/group/endpoints');
    return Array.isArray(res) ? res : (res.endpoints || []);
}

async function createRoom(ev) {
    ev.preventDefault();
    clearErrors($('create-form'));
    const name = value('room-name');
    if (!name) { showErrors({ 'room-name': 'Please enter a name for the room.' }); return; }
    let room;
    try {
        room = await busy($('create-button'), 'Creating…', () => request('POST', '/api/v1/group/rooms', { name }));
    } catch (e) {
        if (e.status === 401) { showSignin('You were signed out. Please sign in again.'); return; }
        const words = Object.values(e.fields || {})[0];
        setFieldError('room-name', words ? sentence(words) : describe(e));
        $('room-name').focus();
        return;
    }
    $('room-name').value = '';
    say(`${(room && room.name) || name} is created. Copy its link to invite people.`, 'ok');
    await load();
    $('room-name').focus();
}

async function deleteRoom(room) {
    const ok = await confirmAction(`Delete ${room.name}?`,
        'Its link stops working, and anyone in a call there is disconnected. This cannot be undone.', 'Delete room');
    if (!ok) return;
    try {
        await request('DELETE', `/api/v1/group/rooms/${encodeURIComponent(room.id)}`);
    } catch (e) {
        if (e.status === 401) { showSignin('You were signed out. Please sign in again.'); return; }
        say(describe(e), 'error');
        return;
    }
    say(`${room.name} is deleted.`, 'ok');
    await load();
    $('room-name').focus();
}

function main() {
    page.rooms = initMeetingRooms({
        base: '/api/v1/group/rooms',
        endpoints: groupEndpoints,
        onSignedOut: () => showSignin('You were signed out. Please sign in again.'),
        reload: () => load(),
    });
    $('signin-form').addEventListener('submit', signIn);
    $('signout-button').addEventListener('click', signOut);
    $('create-form').addEventListener('submit', createRoom);
    initBookings({ onSignedOut: () => showSignin('You were signed out. Please sign in again.') });
    for (const input of document.querySelectorAll('input')) {
        input.addEventListener('input', () => setFieldError(input.id, ''));
    }
    load();
}

main();
