// call.js — the call itself: joining, the ParleyClient's events, the call
// page's controls, resuming when the connection drops (the ParleyClient
// does that itself; this module shows it), rejoining on its own when the
// server no longer knows us, and what the user sees when the call ends.

import { ParleyClient, ParleyError, MODERATION } from './protocol.js';
import { REJOIN, backoffDelay } from './backoff.js';
import { $, show, showScreen } from './dom.js';
import { showBanner, hideBanner, errorText, byeText, endReasonText, FINAL_BYES } from './notices.js';
import {
    initParticipants, resetParticipants, clearParticipants, updateSelf, upsertParticipant, removeParticipant,
    setCallState,
} from './participants.js';
import { setModerationSender, closeConfirm } from './moderation.js';
import { setDeadline, clearDeadline, callWarning } from './deadline.js';
import {
    local, audioTrack, videoTrack, applyLocalMute, toggleMute, setToggle, onMuteChange,
    closeMeter, stopLocalMedia, reacquireMedia, cameraEncodings,
} from './media.js';
import { watchLayers } from './layers.js';
import { initInvite, inviteRole, closeInvite } from './invite.js';
import { initHostKey, setHostKey, hostKeyRefused, closeHostKey } from './hostkey.js';
import {
    addSelfTile, selfTile, tileFor, attachTrack, removeTile, clearTiles, clearRemoteTiles, playAllAudio, layout,
    remoteIds,
} from './tiles.js';

// Goodbye reasons and error codes after which the client rejoins by
// itself: the server restarted (a resume fails when it has forgotten us),
// or something on the way failed that a new session may not meet. Any
// other reason (room-deleted, a bad token, a reason this page does not
// know) ends the call.
const REJOIN_BYES = new Set(['server-shutdown', 'media-failed']);
const REJOIN_ERRORS = new Set([
    'network', 'rate-limited', 'internal', 'server-shutdown', 'join-timeout', 'offer-timeout', 'too-slow',
    'resume-failed', 'too-many-streams',
]);

const MUTED_BY_HOST = 'A host muted you.';

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
    ticket: null,      // a join token got otherwise (a direct call: directcall.js), or null
    renew: null,       // async () => a fresh such ticket (a guest: guestcall.js), or null
    room: null,        // {id, name}
    prepared: null,    // a ParleyClient with a fresh token, not yet joined
    client: null,
    name: '',
    leftIds: new Set(),
    userLeft: false,
    joining: false,
    mutedByHost: false, // the server says a host muted us (shown once per mute)
    onJoinFailed: null, // (error) => void, set by initCall
    // rejoin is the rejoin loop under way, or null:
    // {attempt, started (ms), timer, restarting (the server said so)}.
    rejoin: null,
    // back is the rejoin loop that joined again, until its media flows
    // (then "Back in the call"); a loop started before that carries on
    // from it, so a media connection that never comes up still gives up
    // after REJOIN.giveUpMs.
    back: null,
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
    initParticipants();
    setModerationSender((type, participantId) => !!call.client && call.client.moderate(type, participantId));
    initInvite({ session: () => call.client && call.client.ticket
        ? { token: call.client.ticket.token, role: call.client.role, link: call.link, name: call.name } : null });
    initHostKey({ send: (key) => !!call.client && call.client.claimHost(key) }); // a booked meeting's Claim host
}

/** setRoom records the room and a prepared (not yet joined) client. */
export function setRoom(room, prepared) {
    call.room = room;
    call.prepared = prepared;
}

/**
 * setTicket makes every join of this page use ticket ({token, expiresAt,
 * room, wsPath}) instead of the room link; renew, if given, gets a fresh
 * one when it is about to expire.
 */
export function setTicket(ticket, renew = null) {
    call.ticket = ticket;
    call.renew = renew;
}

/** newClient is a ParleyClient for this page's call. */
function newClient() {
    const client = new ParleyClient({ link: call.link });
    if (call.ticket) client.ticket = call.ticket;
    if (call.renew) {
        client.prepare = async () => {
            call.ticket = client.ticket = await call.renew();
            client.room = client.ticket.room;
            return client.room;
        };
    }
    return client;
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
    stopRejoinLoop();
    call.back = null;
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
    const client = call.prepared || newClient();
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
            encodings: cameraEncodings(),
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
    on('resuming', onResuming);
    on('resumed', onResumed);
    on('participant-joined', ({ participant }) => {
        tileFor(participant.id).update(participant);
        upsertParticipant(participant);
        layout();
    });
    on('participant-updated', ({ participant }) => {
        if (participant.id === client.participantId) {
            onSelfUpdated(participant);
            return;
        }
        tileFor(participant.id, client.participants.get(participant.id)).update(participant);
        upsertParticipant(participant);
        layout(); // a longer name may now run under the self-view
    });
    on('participant-left', ({ participantId }) => {
        call.leftIds.add(participantId);
        removeTile(participantId);
        removeParticipant(participantId);
    });
    on('role', ({ role }) => onRoleChanged(role));
    on('call-updated', ({ call: state }) => {
        setCallState(state);
        setDeadline(state);
    });
    on('call-warning', callWarning);
    on('track', onTrack);
    on('connectionstate', ({ state }) => onConnectionState(state));
    on('error', (e) => {
        if (e.fatal || call.joining) return;
        if (e.ref === 'claim-host') { hostKeyRefused(e); return; } // said in the host key dialog
        // A host's command refused: nothing changed, nothing to fix.
        if (MODERATION.has(e.ref)) showBanner(errorText(e.code, e.message), { kind: 'warning', timeout: 8000 });
        else showBanner(errorText(e.code, e.message));
    });
    on('bye', ({ reason }) => {
        if (reason === 'server-shutdown') showBanner('The server is restarting…', { kind: 'warning' });
    });
    on('closed', onClosed);
    client.addEventListener('closed', watchLayers(client), { once: true }); // simulcast layers by tile size
}

function onJoined({ participantId, role, room, participants, call: state }) {
    // After a rejoin the others are rebuilt from this list: the tiles of
    // the old session go, whoever is still here comes back.
    clearRemoteTiles();
    call.leftIds.clear();
    $('grid').classList.remove('reconnecting');
    if (room && room.name) {
        call.room = room;
        $('call-room-name').textContent = room.name;
        document.title = `${room.name} — Parley`;
    }
    selfTile().setId(participantId);
    selfTile().update({ role });
    for (const p of participants) tileFor(p.id).update(p);
    resetParticipants({
        id: participantId, name: call.name, role,
        audioMuted: local.audioMuted || !audioTrack(), videoMuted: local.videoMuted || !videoTrack(),
    }, participants, state);
    setDeadline(state);
    inviteRole(role);
    setHostKey(state, role);
    layout();
}

// onResuming: the WebSocket dropped and the client is taking our place
// back; the others' tiles stay, dimmed, until it is back.
function onResuming({ attempt }) {
    setConnectionState('reconnecting');
    $('grid').classList.add('reconnecting');
    updateSelf({ connection: 'reconnecting' });
    showBanner(`Reconnecting… (attempt ${attempt})`, { kind: 'warning' });
}

// onResumed: back in the call with the same participant id. The list of
// the others replaces ours (nothing missed meanwhile is replayed): tiles
// of those still here stay, with their tracks; the rest go.
function onResumed({ participantId, role, self, room, participants, call: state }) {
    $('grid').classList.remove('reconnecting');
    if (room && room.name) {
        call.room = room;
        $('call-room-name').textContent = room.name;
    }
    selfTile().setId(participantId);
    const here = new Set(participants.map((p) => p.id));
    for (const id of remoteIds()) {
        if (!here.has(id)) {
            call.leftIds.add(id);
            removeTile(id);
        }
    }
    for (const p of participants) tileFor(p.id).update(p);
    selfTile().update({ role });
    resetParticipants({
        id: participantId, name: call.name, role,
        audioMuted: local.audioMuted || !audioTrack(), videoMuted: local.videoMuted || !videoTrack(),
    }, participants, state);
    setDeadline(state);
    inviteRole(role);
    setHostKey(state, role);
    layout();
    setConnectionState(call.client.state);
    showBanner('Back in the call', { kind: 'info', timeout: 5000 });
    if (self && self.audioMutedByHost) onSelfUpdated(self); // muted while we were away
}

// onSelfUpdated: the server's record of us changed. A host's mute is
// obeyed here too (the server already stopped forwarding our audio): the
// microphone track goes off and the mute button shows it, so that our
// next mute message tells the truth; unmuting sends audioMuted false,
// which lifts it (docs/protocol.md, Moderation).
function onSelfUpdated(p) {
    if (p.role && selfTile()) selfTile().update({ role: p.role });
    if (p.audioMutedByHost) {
        updateSelf({ audioMutedByHost: true, audioMuted: true });
        if (!call.mutedByHost) {
            call.mutedByHost = true;
            showBanner(`${MUTED_BY_HOST} Unmute your microphone when you want to speak.`, { kind: 'warning', timeout: 10000 });
        }
        if (!local.audioMuted) {
            local.audioMuted = true;
            applyLocalMute(); // tells the server too: audioMuted stays true, the host's mute holds
        }
    } else {
        call.mutedByHost = false;
        updateSelf({ audioMutedByHost: false });
    }
}

// onRoleChanged: a host handed us the host role, or we handed it on.
function onRoleChanged(role) {
    updateSelf({ role });
    inviteRole(role);
    setHostKey(undefined, role);
    if (selfTile()) selfTile().update({ role });
    if (role === 'host') {
        showBanner('You are now a host of this call. The host controls are in the list of people.', { kind: 'info', timeout: 6000 });
    } else {
        showBanner('You are no longer a host of this call.', { kind: 'info', timeout: 6000 });
    }
}

function onTrack({ participantId, track, streams }) {
    if (!participantId || call.leftIds.has(participantId)) return;
    attachTrack(participantId, track, streams, call.client && call.client.participants.get(participantId));
}

function onConnectionState(state) {
    if (call.rejoin) return; // the loop shows "Reconnecting…" until it is back
    if (state === 'failed') {
        // The media connection is gone for good: a new session brings it back.
        const client = call.client;
        call.client = null;
        if (client) client.close();
        startRejoinLoop(false);
        return;
    }
    if (call.back && state === 'connecting') state = 'reconnecting';
    setConnectionState(state);
    if (state === 'connected' && call.back) {
        call.back = null;
        showBanner('Back in the call', { kind: 'info', timeout: 5000 });
    }
}

function setConnectionState(state) {
    const el = $('connection-state');
    el.dataset.state = state;
    el.textContent = STATE_TEXT[state] || state;
}

function onClosed({ expected, bye, error }) {
    if (call.joining) return; // startCall and the rejoin loop report join failures themselves
    call.client = null;
    if (!call.userLeft && shouldRejoin({ expected, bye, error })) {
        startRejoinLoop(bye === 'server-shutdown');
        return;
    }
    endCall({ expected, bye, error });
}

/** shouldRejoin reports whether a call that closed so comes back by itself. */
function shouldRejoin({ expected, bye, error }) {
    if (bye) return REJOIN_BYES.has(bye);
    if (error) return REJOIN_ERRORS.has(error.code);
    return !expected;
}

/** endCall shows the "left" screen, saying why the call ended. */
function endCall({ expected = true, bye = null, error = null, title = '', text = '' }) {
    hideBanner(); // what the call said ("A host muted you", ...) is over; the cases below say their own
    stopRejoinLoop();
    call.back = null;
    call.client = null;
    call.mutedByHost = false;
    clearTiles();
    clearParticipants();
    clearDeadline();
    closeConfirm();
    closeInvite();
    closeHostKey();
    stopLocalMedia();
    show($('sound-button'), false);
    // A host decided: no Rejoin (and no rejoining by ourselves, see shouldRejoin).
    show($('rejoin-button'), !FINAL_BYES.has(bye));
    if (title) {
        showBanner(title, { action: { label: 'Rejoin', run: rejoin } });
    } else if (call.userLeft) {
        title = 'You left the call';
    } else if (bye && bye !== 'left' && bye !== 'error') {
        title = byeText(bye);
        // A host's decision or the call's deadline needs no alarm: the page says it.
        if (!FINAL_BYES.has(bye) && !endReasonText(bye)) showBanner(title);
    } else if (error && error.code === 'call-locked') {
        title = 'This call is locked by its host';
        text = 'Ask a host to unlock it, then rejoin.';
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
    (FINAL_BYES.has(bye) ? $('home-link') : $('rejoin-button')).focus();
}

// ---------------------------------------------------------------- rejoining

/**
 * startRejoinLoop keeps trying to join the call again, with the same name
 * and the same camera and microphone, backing off between attempts
 * (backoff.js), until it is back or REJOIN.giveUpMs has passed.
 * restarting says the server announced its restart.
 */
function startRejoinLoop(restarting) {
    if (call.rejoin) return;
    const prev = call.back;
    call.back = null;
    call.rejoin = prev
        ? { attempt: prev.attempt, started: prev.started, timer: null, restarting: restarting || prev.restarting }
        : { attempt: 0, started: Date.now(), timer: null, restarting };
    setConnectionState('reconnecting');
    $('grid').classList.add('reconnecting');
    show($('sound-button'), false);
    if (restarting) {
        showBanner('The server is restarting…', { kind: 'warning' });
        call.rejoin.timer = setTimeout(rejoinAttempt, backoffDelay(call.rejoin.attempt + 1));
    } else if (prev) {
        call.rejoin.timer = setTimeout(rejoinAttempt, backoffDelay(prev.attempt));
    } else {
        rejoinAttempt();
    }
}

function stopRejoinLoop() {
    if (!call.rejoin) return;
    clearTimeout(call.rejoin.timer);
    call.rejoin = null;
    $('grid').classList.remove('reconnecting');
}

/** rejoinAttempt is one attempt of the rejoin loop; it schedules the next. */
async function rejoinAttempt() {
    const r = call.rejoin;
    if (!r) return;
    r.attempt++;
    const prefix = r.restarting ? 'The server is restarting. ' : '';
    showBanner(`${prefix}Reconnecting… (attempt ${r.attempt})`, { kind: 'warning' });
    const client = newClient();
    call.client = client;
    listen(client);
    call.joining = true;
    let timer = null;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new ParleyError('network', 'The server did not answer in time.')), REJOIN.attemptMs);
    });
    try {
        await Promise.race([client.join({
            name: call.name,
            stream: local.stream,
            audioMuted: local.audioMuted,
            videoMuted: local.videoMuted,
            encodings: cameraEncodings(),
        }), timeout]);
        if (call.rejoin !== r) return;
        call.rejoin = null;
        call.back = r;
        setConnectionState('reconnecting');
        showBanner('Rejoined: connecting audio and video…', { kind: 'warning' });
        if (client.state === 'connected') {
            onConnectionState('connected');
        } else if (!local.stream || local.stream.getTracks().length === 0) {
            // Nothing to send: the server may have nothing to offer yet
            // either, so there is no media connection to wait for.
            call.back = null;
            setConnectionState(client.state);
            showBanner('Back in the call', { kind: 'info', timeout: 5000 });
        }
    } catch (e) {
        client.close();
        if (call.client === client) call.client = null;
        if (call.rejoin !== r) return; // the user left or rejoined meanwhile
        if (!REJOIN_ERRORS.has(e.code)) {
            endCall({ error: { code: e.code, message: e.message } });
        } else if (Date.now() - r.started >= REJOIN.giveUpMs) {
            endCall({
                title: 'Could not reconnect to the call',
                text: `The server has not answered for ${Math.round(REJOIN.giveUpMs / 60000)} minutes. Check your internet connection, then rejoin.`,
            });
        } else {
            r.timer = setTimeout(rejoinAttempt, backoffDelay(r.attempt));
        }
    } finally {
        clearTimeout(timer);
        if (call.client === client || !call.client) call.joining = false;
    }
}

async function leave() {
    call.userLeft = true;
    hideBanner();
    const rejoining = !!call.rejoin;
    stopRejoinLoop();
    const client = call.client;
    if (client && !rejoining) {
        await client.leave(); // its "closed" event ends the call
        return;
    }
    call.client = null;
    call.joining = false;
    if (client) client.leave();
    endCall({});
}

// ---------------------------------------------------------------- call page controls

function onLocalMuteChanged() {
    if (!call.client) return;
    call.client.setMuted({ audio: local.audioMuted, video: local.videoMuted });
    updateCallButtons();
    const muted = { audioMuted: local.audioMuted || !audioTrack(), videoMuted: local.videoMuted || !videoTrack() };
    const self = selfTile();
    if (self) self.update(muted);
    // Unmuting lifts a host's mute (the server's record follows).
    if (!local.audioMuted && call.mutedByHost) {
        call.mutedByHost = false;
        if ($('banner-text').textContent.startsWith(MUTED_BY_HOST)) hideBanner();
    }
    updateSelf(local.audioMuted ? muted : { ...muted, audioMutedByHost: false });
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
        showBanner('Member link copied: whoever opens it joins as a member. For a guest, use More, then Invite guest.', { kind: 'info' });
    } catch (e) {
        showBanner(`Member link: ${url}`, { kind: 'info', timeout: 15000 });
    }
}
