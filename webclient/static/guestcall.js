// guestcall.js — a guest's call page, /guest/call: it joins with the guest
// join token that the guest page (pages/guest.js) kept in sessionStorage —
// never in the URL — and goes straight into the call with the camera and
// microphone. A guest has no More menu and no room link to copy
// (invite.js hides them for the role guest). startTicketCall is the same
// way in for a booked meeting's link (meetingcall.js).

import { ParleyClient, ParleyError } from './protocol.js';
import { $, show, showScreen } from './dom.js';
import { local, acquireMedia, applyLocalMute } from './media.js';
import { initCall, setRoom, setTicket, startCall } from './call.js';

// GUEST_TICKET_KEY: the same key as pages/guest.js's.
const GUEST_TICKET_KEY = 'parley.guest.ticket';

/** isGuestCallPath reports whether pathname is the guests' call page. */
export function isGuestCallPath(pathname) {
    return /^\/guest\/call\/?$/.test(pathname);
}

function leftScreen(title, text) {
    $('left-title').textContent = title;
    $('left-text').textContent = text;
    show($('left-text'), !!text);
    show($('rejoin-button'), false);
    showScreen('left');
    document.title = `${title} — Parley`;
}

/** startGuestCall joins the call of the guest ticket the guest page left. */
export function startGuestCall() {
    return startTicketCall({
        key: GUEST_TICKET_KEY,
        back: /^\/g\/([^/]+)$/,
        backLabel: 'Back to the invitation',
        alone: 'You are the first here. A member of the meeting room will join you.',
        missing: ['Open your invitation link again', 'This page joins a call from a guest link. Open the link you were sent.'],
        renew: (token, name) => ({ path: '/api/v1/guest/join', body: { token, name }, refused: 'Your guest link no longer admits you.' }),
    });
}

/**
 * startTicketCall joins the call of a join token another page left in
 * sessionStorage under kind.key ({token, expiresAt, room, wsPath, name,
 * back}): the guest page's, or a booked meeting's link page
 * (meetingcall.js). kind.back matches the page it came from (its token in
 * group 1), kind.renew(token, name) is the request that gets a fresh join
 * token with that link, kind.alone the hint while nobody else is here and
 * kind.missing the [title, text] of the page without a ticket.
 */
export async function startTicketCall(kind) {
    let ticket = null;
    try { ticket = JSON.parse(sessionStorage.getItem(kind.key) || 'null'); } catch (e) { ticket = null; }
    const home = $('home-link');
    if (ticket && kind.back.test(ticket.back || '')) {
        home.href = ticket.back;
        home.textContent = kind.backLabel;
    }
    show($('copy-link-button'), false);
    $('alone-hint').textContent = kind.alone;
    initCall({
        link: null,
        onJoinFailed: (e) => leftScreen('Could not join the call',
            `${e.message || 'The server refused the join.'} Open the link you were sent again.`),
    });
    if (!ticket || !ticket.token) {
        leftScreen(...kind.missing);
        return;
    }
    const room = { id: String((ticket.room && ticket.room.id) || ''), name: String((ticket.room && ticket.room.name) || 'Video call') };
    const t = { token: ticket.token, expiresAt: ticket.expiresAt ? new Date(ticket.expiresAt) : null, room, wsPath: ticket.wsPath || '/ws' };
    const back = kind.back.exec(ticket.back || '');
    setTicket(t, back ? () => renew(kind.renew(decodeURIComponent(back[1]), ticket.name)) : null);
    const client = new ParleyClient({ link: null });
    client.ticket = t;
    setRoom(room, client);
    const { stream } = await acquireMedia();
    local.stream = stream;
    applyLocalMute();
    await startCall(ticket.name || 'Guest');
}

// renew gets a fresh join token with the link (join tokens are
// short-lived; a rejoin late in a long call needs a new one). A link
// revoked or expired meanwhile refuses, and the call page says why.
async function renew({ path, body: req, refused }) {
    let res;
    try {
        res = await fetch(path, {
            method: 'POST', credentials: 'same-origin', cache: 'no-store',
            headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
            body: JSON.stringify(req),
        });
    } catch (e) {
        throw new ParleyError('network', 'The server could not be reached.');
    }
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok || !body || typeof body.token !== 'string') {
        const err = body && body.error;
        const code = (err && typeof err === 'object' ? err.code : err) || 'bad-token';
        const message = (err && typeof err === 'object' ? err.message : body && body.message) || refused;
        throw new ParleyError(code, message, res.status);
    }
    const room = body.room || {};
    return {
        token: body.token, expiresAt: body.expiresAt ? new Date(body.expiresAt) : null,
        room: { id: String(room.id || ''), name: String(room.name || '') }, wsPath: body.wsPath || '/ws',
    };
}
