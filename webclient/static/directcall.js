// directcall.js — a direct call between endpoints on the call page,
// /call/{callId}: it joins with the token the endpoint page kept from
// call-accepted (pages/directory.js), goes straight into the call with the
// camera and microphone, and offers "Add someone", which rings another
// endpoint of the group into this call.

import { ParleyClient } from './protocol.js';
import { $, show, showScreen } from './dom.js';
import { showBanner } from './notices.js';
import { local, acquireMedia, applyLocalMute } from './media.js';
import { initCall, setRoom, setTicket, startCall } from './call.js';
import { usePresence, endpointRows, nameOf, TICKET_KEY } from './pages/directory.js';

/** directCallFromPath is the call id of a /call/{id} path, or null. */
export function directCallFromPath(pathname) {
    const m = /^\/call\/([^/]+)\/?$/.exec(pathname);
    if (!m) return null;
    try { return decodeURIComponent(m[1]); } catch (e) { return null; }
}

/** leftScreen shows the page after a call with title and text, and the way back. */
function leftScreen(title, text) {
    $('left-title').textContent = title;
    $('left-text').textContent = text;
    show($('left-text'), !!text);
    show($('rejoin-button'), false);
    showScreen('left');
    document.title = `${title} — Parley`;
}

/** startDirectCall joins direct call callId. */
export async function startDirectCall(callId) {
    const home = $('home-link');
    home.href = '/endpoint';
    home.textContent = 'Back to your endpoint';
    show($('copy-link-button'), false);
    $('alone-hint').textContent = 'Everyone else has left the call. Add someone, or leave.';
    initCall({
        link: null,
        onJoinFailed: (e) => e.code === 'bad-token'
            ? leftScreen('This call is over', 'Everyone has left it. Call again from your endpoint page.')
            : leftScreen('Could not join the call', e.message || ''),
    });
    let ticket = null;
    try { ticket = JSON.parse(sessionStorage.getItem(TICKET_KEY) || 'null'); } catch (e) { ticket = null; }
    if (!ticket || ticket.callId !== callId || !ticket.token) {
        leftScreen('This call is over', 'Call again from your endpoint page.');
        return;
    }
    const room = { id: '', name: ticket.room || 'Direct call' };
    const t = { token: ticket.token, expiresAt: null, room, wsPath: '/ws' };
    setTicket(t);
    const client = new ParleyClient({ link: null });
    client.ticket = t;
    setRoom(room, client);

    addSomeone(callId);
    const { stream } = await acquireMedia();
    local.stream = stream;
    applyLocalMute();
    await startCall(ticket.me || 'You');
}

// addSomeone adds the "Add someone" button and its dialog, listing the
// group's endpoints with a Call button each, over this page's own
// presence connection.
function addSomeone(callId) {
    const header = document.querySelector('.call-header');
    const button = document.createElement('button');
    button.type = 'button';
    button.id = 'add-button';
    button.className = 'button small';
    button.textContent = 'Add someone';
    header.append(button);
    const d = document.createElement('dialog');
    d.id = 'add-dialog';
    d.className = 'dialog add-dialog';
    d.setAttribute('aria-labelledby', 'add-title');
    d.innerHTML = `<h2 id="add-title">Add someone to the call</h2>
        <p class="muted">They are rung, and join this call when they accept.</p>
        <ul id="add-list" class="endpoint-list"></ul>
        <form method="dialog" class="row end"><button type="submit" class="button subtle" id="add-close">Close</button></form>`;
    document.body.append(d);
    const draw = () => { if (d.open) endpointRows($('add-list'), { callId }); };
    const presence = usePresence({
        callId,
        notify: (text, kind) => { if (text) showBanner(text, { kind: kind === 'error' ? 'error' : 'info', timeout: 8000 }); },
        onChange: draw,
    });
    presence.addEventListener('ringing', ({ detail: { ring } }) => {
        if (ring.callId === callId) showBanner(`Calling ${nameOf(ring.to)}…`, { kind: 'warning' });
    });
    button.addEventListener('click', () => {
        endpointRows($('add-list'), { callId });
        d.showModal();
    });
}
