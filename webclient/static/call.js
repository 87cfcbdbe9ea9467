// call.js — the call itself: joining, the ParleyClient's events, the call
// page's controls, and what the user sees when the call ends.

import { ParleyClient } from './protocol.js';
import { $, show, showScreen } from './dom.js';
import { showBanner, hideBanner, errorText, byeText } from './notices.js';
import {
    local, audioTrack, videoTrack, applyLocalMute, toggleMute, setToggle, onMuteChange,
    closeMeter, stopLocalMedia, reacquireMedia,
} from './media.js';
import {
    addSelfTile, selfTile, tileFor, attachTrack, removeTile, clearTiles, playAllAudio, layout,
} from './tiles.js';

const STATE_TEXT = {
    new: 'Connecting…',
    connecting: 'Connecting…',
    connected: 'Connected',
    reconnecting: 'Reconnecting…',
    failed: 'Connection lost',
    closed: 'Disconnected',
};

/**
 * call is the call's state, owned by this module. link and room are set
 * by the join page (setRoom); client is the ParleyClient of the call now
 * on screen; leftIds are participants who left it (late tracks of theirs
 * are ignored).
 */
const call = {
    link: null,        // room link id from /r/{link}
    room: null,        // {id, name}
    prepared: null,    // a ParleyClient with a fresh token, not yet joined
    client: null,
    name: '',
    leftIds: new Set(),
    userLeft: false,
    joining: false,
    onJoinFailed: null, // (error) => void, set by initCall
};

/**
 * initCall wires the call page. onJoinFailed(error) is told when a join
 * fails, so the join page can show why.
 */
export function initCall({ link, onJoinFailed }) {
    call.link = link;
    call.onJoinFailed = onJoinFailed;
    onMuteChange(onLocalMuteChanged);
    initCallControls();
}

/** setRoom records the room and a prepared (not yet joined) client. */
export function setRoom(room, prepared) {
    call.room = room;
    call.prepared = prepared;
}

/** roomURL is the room's join link. */
export function roomURL() {
    return new URL(`/r/${encodeURIComponent(call.link)}`, location.href).href;
}

/** isJoining reports whether a join is under way. */
export function isJoining() {
    return call.joining;
}

/** rejoin joins the same room again, getting the camera and microphone back. */
async function rejoin() {
    hideBanner();
    const old = call.client;
    call.client = null; // so its "closed" event is ignored
    if (old) old.close();
    await reacquireMedia();
    await startCall(call.name);
}

/** startCall shows the call page and joins the call as name. */
export async function startCall(name) {
    call.name = name;
    call.joining = true;
    call.userLeft = false;
    closeMeter();
    const client = call.prepared || new ParleyClient({ link: call.link });
    call.prepared = null;
    call.client = client;
    listen(client);

    showScreen('call');
    $('call-room-name').textContent = (call.room && call.room.name) || 'Call';
    setConnectionState('connecting');
    clearTiles();
    call.leftIds.clear();
    addSelfTile(name, local.stream, { audioMuted: local.audioMuted || !audioTrack(), videoMuted: local.videoMuted || !videoTrack() });
    updateCallButtons();
    try {
        await client.join({
            name,
            stream: local.stream,
            audioMuted: local.audioMuted,
            videoMuted: local.videoMuted,
        });
    } catch (e) {
        client.close();
        if (call.client !== client) return;
        call.client = null;
        clearTiles();
        call.onJoinFailed(e);
    } finally {
        call.joining = false;
    }
}

function listen(client) {
    const on = (type, fn) => client.addEventListener(type, (ev) => {
        if (call.client === client) fn(ev.detail);
    });
    on('joined', onJoined);
    on('participant-joined', ({ participant }) => { tileFor(participant.id).update(participant); layout(); });
    on('participant-updated', ({ participant }) => {
        if (participant.id === client.participantId) return; // we know our own state
        tileFor(participant.id, client.participants.get(participant.id)).update(participant);
    });
    on('participant-left', ({ participantId }) => {
        call.leftIds.add(participantId);
        removeTile(participantId);
    });
    on('track', onTrack);
    on('connectionstate', ({ state }) => onConnectionState(state));
    on('error', (e) => {
        if (!e.fatal && !call.joining) showBanner(errorText(e.code, e.message));
    });
    on('closed', onClosed);
}

function onJoined({ participantId, room, participants }) {
    if (room && room.name) {
        call.room = room;
        $('call-room-name').textContent = room.name;
        document.title = `${room.name} — Parley`;
    }
    selfTile().setId(participantId);
    for (const p of participants) tileFor(p.id).update(p);
    layout();
}

function onTrack({ participantId, track, streams }) {
    if (!participantId || call.leftIds.has(participantId)) return;
    attachTrack(participantId, track, streams, call.client && call.client.participants.get(participantId));
}

function onConnectionState(state) {
    setConnectionState(state);
    if (state === 'failed') {
        showBanner('The media connection was lost.', { action: { label: 'Rejoin', run: rejoin } });
    } else if (state === 'connected') {
        if ($('banner').dataset.kind === 'error' && $('banner-action').textContent === 'Rejoin') hideBanner();
    }
}

function setConnectionState(state) {
    const el = $('connection-state');
    el.dataset.state = state;
    el.textContent = STATE_TEXT[state] || state;
}

function onClosed({ expected, bye, error }) {
    if (call.joining) return; // startCall reports join failures itself
    call.client = null;
    clearTiles();
    stopLocalMedia();
    show($('sound-button'), false);
    let title;
    let text = '';
    if (call.userLeft) {
        title = 'You left the call';
    } else if (bye && bye !== 'left' && bye !== 'error') {
        title = byeText(bye);
        if (bye === 'server-shutdown') text = 'It may be back in a moment: try rejoining shortly.';
        showBanner(title);
    } else if (error) {
        title = 'The call has ended';
        text = errorText(error.code, error.message);
        showBanner(text);
    } else if (!expected) {
        title = 'Connection to the server lost';
        text = 'Check your internet connection, then rejoin.';
        showBanner(title, { action: { label: 'Rejoin', run: rejoin } });
    } else {
        title = byeText(bye);
    }
    $('left-title').textContent = title;
    $('left-text').textContent = text;
    show($('left-text'), !!text);
    showScreen('left');
    document.title = `${title} — Parley`;
    $('rejoin-button').focus();
}

async function leave() {
    call.userLeft = true;
    hideBanner();
    if (call.client) await call.client.leave();
}

// ---------------------------------------------------------------- call page controls

function onLocalMuteChanged() {
    if (!call.client) return;
    call.client.setMuted({ audio: local.audioMuted, video: local.videoMuted });
    updateCallButtons();
    const self = selfTile();
    if (self) self.update({ audioMuted: local.audioMuted || !audioTrack(), videoMuted: local.videoMuted || !videoTrack() });
}

function updateCallButtons() {
    const a = audioTrack();
    const v = videoTrack();
    setToggle($('mute-button'), local.audioMuted || !a, !a, local.audioMuted ? 'Unmute microphone' : 'Mute microphone');
    setToggle($('camera-button'), local.videoMuted || !v, !v, local.videoMuted ? 'Turn camera on' : 'Turn camera off');
}

function initCallControls() {
    $('mute-button').addEventListener('click', () => toggleMute('audio'));
    $('camera-button').addEventListener('click', () => toggleMute('video'));
    $('leave-button').addEventListener('click', leave);
    $('rejoin-button').addEventListener('click', rejoin);
    $('banner-close').addEventListener('click', hideBanner);
    $('sound-button').addEventListener('click', () => {
        show($('sound-button'), false);
        playAllAudio();
    });
    $('copy-link-button').addEventListener('click', copyLink);
    window.addEventListener('pagehide', () => {
        if (call.client) call.client.leave();
    });
    // Keyboard shortcuts while in a call: Ctrl/Cmd+D mic, Ctrl/Cmd+E camera.
    document.addEventListener('keydown', (ev) => {
        if (document.body.dataset.screen !== 'call' || !(ev.ctrlKey || ev.metaKey)) return;
        const key = ev.key.toLowerCase();
        if (key === 'd' && !$('mute-button').disabled) { ev.preventDefault(); $('mute-button').click(); }
        if (key === 'e' && !$('camera-button').disabled) { ev.preventDefault(); $('camera-button').click(); }
    });
    if (window.ResizeObserver) new ResizeObserver(() => layout()).observe($('grid'));
    else window.addEventListener('resize', layout);
}

async function copyLink() {
    const url = roomURL();
    try {
        await navigator.clipboard.writeText(url);
        showBanner('Invite link copied. Send it to the people you want to invite.', { kind: 'info' });
    } catch (e) {
        showBanner(`Invite link: ${url}`, { kind: 'info', timeout: 15000 });
    }
}
