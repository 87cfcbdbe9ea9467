// join.js — the pages before a call: the landing page (paste a room link)
// and the join page (room name, camera preview, name, Join).

import { ParleyClient, webrtcMissing } from './protocol.js';
import { $, STORAGE, storageGet, storageSet, show, showScreen } from './dom.js';
import { showBanner, hideBanner, errorText } from './notices.js';
import { local, initMediaControls, startPreview, attachPreview, updatePreviewAvatar } from './media.js';
import { setRoom, startCall, isJoining } from './call.js';

// page is the join page's state, owned by this module.
const page = {
    link: null,      // room link id from /r/{link}
    unsupported: '', // why this browser cannot make calls, or ""
};

// ---------------------------------------------------------------- landing

export function initLanding() {
    showScreen('landing');
    document.title = 'Parley';
    $('link-form').addEventListener('submit', (ev) => {
        ev.preventDefault();
        const raw = $('link-input').value.trim();
        const id = linkFromInput(raw);
        if (!id) {
            $('link-error').textContent = 'Paste the room link you were sent, for example https://example.org/r/abc123.';
            show($('link-error'), true);
            $('link-input').focus();
            return;
        }
        location.assign(`/r/${encodeURIComponent(id)}`);
    });
    $('link-input').focus();
}

/** linkFromInput accepts a full room URL, a /r/… path or a bare link id. */
function linkFromInput(raw) {
    if (!raw) return null;
    let path = raw;
    try {
        path = new URL(raw).pathname;
    } catch (e) {
        // Not a URL: a path or a bare id.
    }
    const m = /(?:^|\/)r\/([^/?#\s]+)/.exec(path);
    if (m) return decodeURIComponent(m[1]);
    if (/^[A-Za-z0-9_-]+$/.test(raw)) return raw;
    return null;
}

export function showInvalidLink() {
    initLanding();
    $('landing-title').textContent = 'This link is not valid';
    $('landing-text').textContent = 'The room may have been deleted, or the link was copied incompletely. Check the link you were sent, or paste it again below.';
    document.title = 'Link not valid — Parley';
}

/** linkFromPath is the room link id of a /r/{link} path, or null. */
export function linkFromPath(pathname) {
    const m = /^\/r\/([^/]+)\/?$/.exec(pathname);
    if (!m) return null;
    try { return decodeURIComponent(m[1]); } catch (e) { return null; }
}

// ---------------------------------------------------------------- join page

export async function initJoin(link) {
    page.link = link;
    showScreen('join');
    const nameInput = $('join-name');
    nameInput.value = storageGet(STORAGE.name);
    nameInput.addEventListener('input', () => {
        show($('name-error'), false);
        updatePreviewAvatar();
    });
    $('join-form').addEventListener('submit', (ev) => { ev.preventDefault(); onJoinClicked(); });
    initMediaControls();
    page.unsupported = webrtcMissing();
    if (page.unsupported) showUnsupported();
    await loadRoom();
}

// showUnsupported says plainly that this browser cannot make calls; the
// Join button stays disabled, so it never joins half-way.
function showUnsupported() {
    $('unsupported').textContent = `This browser cannot make video calls: ${page.unsupported}. To join, use a current Chrome, Edge, Firefox or Safari.`;
    show($('unsupported'), true);
    $('join-button').disabled = true;
    $('preview-placeholder').textContent = 'No video calls in this browser';
    // Nothing to preview, mute or measure.
    for (const el of document.querySelectorAll('#join-screen .preview-controls, #join-screen .meter-row')) show(el, false);
}

async function loadRoom() {
    const status = $('room-status');
    status.textContent = 'Loading room…';
    show(status, true);
    const client = new ParleyClient({ link: page.link });
    let room;
    try {
        room = await client.prepare();
    } catch (e) {
        if (e.code === 'room-not-found' || e.code === 'bad-request') {
            showInvalidLink();
            return;
        }
        status.textContent = errorText(e.code, e.message);
        showBanner(errorText(e.code, e.message), { action: { label: 'Try again', run: loadRoom } });
        return;
    }
    setRoom(room, client);
    hideBanner();
    show(status, false);
    $('room-name').textContent = room.name || 'Video call';
    show($('room-name'), true);
    document.title = `${room.name || 'Call'} — Parley`;
    show($('join-body'), true);
    if (page.unsupported) return; // no preview, no Join: see showUnsupported
    $('join-button').disabled = false;
    if (!$('join-name').value) $('join-name').focus();
    else $('join-button').focus();
    if (!local.ready) local.ready = startPreview();
}

async function onJoinClicked() {
    if (isJoining() || page.unsupported) return;
    const name = $('join-name').value.trim();
    if (!name) {
        show($('name-error'), true);
        $('join-name').focus();
        return;
    }
    const chosen = name.slice(0, 64);
    storageSet(STORAGE.name, chosen);
    const button = $('join-button');
    button.disabled = true;
    button.textContent = 'Joining…';
    show($('join-error'), false);
    try {
        if (local.ready) await local.ready;
        await startCall(chosen);
    } finally {
        button.disabled = false;
        button.textContent = 'Join call';
    }
}

/** joinFailed shows why a join failed: back on the join page, or a bad link. */
export function joinFailed(e) {
    if (e.code === 'room-not-found') {
        showInvalidLink();
        return;
    }
    showScreen('join');
    $('join-error').textContent = errorText(e.code, e.message);
    show($('join-error'), true);
    attachPreview();
}
