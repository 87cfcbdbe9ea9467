// app.js — parley's user interface.
//
// It draws the landing, join, call and "left" pages, handles the camera and
// microphone, and drives a ParleyClient (protocol.js), which does all the
// talking to the server.

import { ParleyClient } from './protocol.js';

const $ = (id) => document.getElementById(id);

const STORAGE = { name: 'parley.name', camera: 'parley.cameraId', mic: 'parley.micId' };

const STATE_TEXT = {
    new: 'Connecting…',
    connecting: 'Connecting…',
    connected: 'Connected',
    reconnecting: 'Reconnecting…',
    failed: 'Connection lost',
    closed: 'Disconnected',
};

const app = {
    link: null,         // room link id from /r/{link}
    room: null,         // {id, name}
    prepared: null,     // a ParleyClient with a fresh token, not yet joined
    client: null,       // the ParleyClient of the current call
    stream: null,       // local MediaStream (may have 0, 1 or 2 tracks)
    mediaReady: null,   // Promise settled when the first camera/mic attempt is over
    audioMuted: false,  // user's choice
    videoMuted: false,
    name: '',
    tiles: new Map(),   // participant id -> Tile
    trackOwner: new Map(), // MediaStreamTrack -> participant id
    leftIds: new Set(),    // participants who left this call: ignore late tracks
    selfTile: null,
    userLeft: false,
    joining: false,
};

// ---------------------------------------------------------------- helpers

function storageGet(key) {
    try { return localStorage.getItem(key) || ''; } catch (e) { return ''; }
}

function storageSet(key, value) {
    try { localStorage.setItem(key, value); } catch (e) { /* private mode */ }
}

function show(el, visible) {
    el.hidden = !visible;
}

function showScreen(name) {
    for (const s of ['landing', 'join', 'call', 'left']) show($(`${s}-screen`), s === name);
    document.body.dataset.screen = name;
}

function initials(name) {
    const words = String(name || '').trim().split(/\s+/).filter(Boolean);
    if (!words.length) return '?';
    const first = [...words[0]][0] || '';
    const last = words.length > 1 ? [...words[words.length - 1]][0] || '' : '';
    return (first + last).toUpperCase();
}

// A calm colour per participant, picked from the id.
const AVATAR_HUES = [210, 250, 170, 20, 330, 140, 280, 40];
function avatarHue(id) {
    let h = 0;
    for (const ch of String(id)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    return AVATAR_HUES[h % AVATAR_HUES.length];
}

function roomURL() {
    return new URL(`/r/${encodeURIComponent(app.link)}`, location.href).href;
}

// ---------------------------------------------------------------- banner

let bannerTimer = null;

/**
 * showBanner shows a message at the top of the page. kind is "error" or
 * "info"; info banners go away on their own. action is {label, run}.
 */
function showBanner(text, { kind = 'error', action = null, timeout = 0 } = {}) {
    clearTimeout(bannerTimer);
    const banner = $('banner');
    banner.dataset.kind = kind;
    $('banner-text').textContent = text;
    const btn = $('banner-action');
    if (action) {
        btn.textContent = action.label;
        btn.onclick = () => { hideBanner(); action.run(); };
    } else {
        btn.onclick = null;
    }
    show(btn, !!action);
    show(banner, true);
    if (timeout || kind === 'info') bannerTimer = setTimeout(hideBanner, timeout || 4000);
}

function hideBanner() {
    clearTimeout(bannerTimer);
    show($('banner'), false);
}

function errorText(code, message) {
    switch (code) {
    case 'room-not-found': return 'This room no longer exists.';
    case 'bad-token':
    case 'token-expired': return 'Your invitation to this call expired. Rejoin to get a new one.';
    case 'bad-version': return 'This page is out of date. Reload the page to get the latest version.';
    case 'too-large': return 'Your browser sent a message the server could not accept.';
    case 'rate-limited': return 'Too many requests. Please wait a moment and try again.';
    case 'offer-timeout': return 'Your browser took too long to set up audio and video. Rejoin to try again.';
    case 'too-slow': return 'Your connection could not keep up with the call. Rejoin to try again.';
    case 'too-many-candidates': return 'Your browser sent more network addresses than the server accepts; the call may not connect.';
    case 'network': return 'The server could not be reached. Check your internet connection and try again.';
    case 'bad-sdp':
    case 'negotiation': return 'Your browser and the server could not agree on how to send audio and video.';
    case 'bad-request': return message ? `The server refused a request: ${message}` : 'The server refused a request.';
    case 'internal': return message ? `Something went wrong on the server (${message}).` : 'Something went wrong on the server.';
    default: return message || 'Something went wrong.';
    }
}

function byeText(reason) {
    switch (reason) {
    case 'server-shutdown': return 'The server is shutting down — the call has ended';
    case 'room-deleted': return 'This room was deleted — the call has ended';
    case 'disconnected': return 'You were disconnected from the call';
    case 'media-failed': return 'Your audio and video could not get through to the server — check your network and rejoin';
    case 'left': return 'You left the call';
    default: return 'The call has ended';
    }
}

// ---------------------------------------------------------------- landing

function initLanding() {
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

function showInvalidLink() {
    initLanding();
    $('landing-title').textContent = 'This link is not valid';
    $('landing-text').textContent = 'The room may have been deleted, or the link was copied incompletely. Check the link you were sent, or paste it again below.';
    document.title = 'Link not valid — Parley';
}

function linkFromPath(pathname) {
    const m = /^\/r\/([^/]+)\/?$/.exec(pathname);
    if (!m) return null;
    try { return decodeURIComponent(m[1]); } catch (e) { return null; }
}

// ---------------------------------------------------------------- join page

async function initJoin() {
    showScreen('join');
    const nameInput = $('join-name');
    nameInput.value = storageGet(STORAGE.name);
    nameInput.addEventListener('input', () => {
        show($('name-error'), false);
        updatePreviewAvatar();
    });
    $('join-form').addEventListener('submit', (ev) => { ev.preventDefault(); onJoinClicked(); });
    $('join-mic-toggle').addEventListener('click', () => {
        app.audioMuted = !app.audioMuted;
        applyLocalMute();
    });
    $('join-camera-toggle').addEventListener('click', () => {
        app.videoMuted = !app.videoMuted;
        applyLocalMute();
    });
    $('camera-select').addEventListener('change', () => switchDevice('video', $('camera-select').value));
    $('mic-select').addEventListener('change', () => switchDevice('audio', $('mic-select').value));
    if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
        navigator.mediaDevices.addEventListener('devicechange', () => fillDeviceSelects());
    }

    await loadRoom();
}

async function loadRoom() {
    const status = $('room-status');
    status.textContent = 'Loading room…';
    show(status, true);
    const client = new ParleyClient({ link: app.link });
    try {
        app.room = await client.prepare();
    } catch (e) {
        if (e.code === 'room-not-found' || e.code === 'bad-request') {
            showInvalidLink();
            return;
        }
        status.textContent = errorText(e.code, e.message);
        showBanner(errorText(e.code, e.message), { action: { label: 'Try again', run: loadRoom } });
        return;
    }
    app.prepared = client;
    hideBanner();
    show(status, false);
    $('room-name').textContent = app.room.name || 'Video call';
    show($('room-name'), true);
    document.title = `${app.room.name || 'Call'} — Parley`;
    show($('join-body'), true);
    $('join-button').disabled = false;
    if (!$('join-name').value) $('join-name').focus();
    else $('join-button').focus();
    if (!app.mediaReady) app.mediaReady = startPreview();
}

function mediaConstraints(kind, deviceId, exact) {
    if (kind === 'audio') {
        const c = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
        if (deviceId) c.deviceId = exact ? { exact: deviceId } : { ideal: deviceId };
        return c;
    }
    const c = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };
    if (deviceId) c.deviceId = exact ? { exact: deviceId } : { ideal: deviceId };
    return c;
}

/**
 * acquireMedia gets the microphone and camera, each if it can. It resolves
 * to {stream, errors: {audio, video}}; a kind it could not get has an error.
 */
async function acquireMedia() {
    const errors = { audio: null, video: null };
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        const e = new Error('insecure');
        e.name = 'InsecureContext';
        return { stream: new MediaStream(), errors: { audio: e, video: e } };
    }
    const audio = mediaConstraints('audio', storageGet(STORAGE.mic), false);
    const video = mediaConstraints('video', storageGet(STORAGE.camera), false);
    try {
        return { stream: await navigator.mediaDevices.getUserMedia({ audio, video }), errors };
    } catch (e) {
        // Try each kind alone: one may be missing, busy or refused.
        const stream = new MediaStream();
        for (const [kind, c] of [['audio', audio], ['video', video]]) {
            try {
                const s = await navigator.mediaDevices.getUserMedia({ [kind]: c });
                for (const t of s.getTracks()) stream.addTrack(t);
            } catch (e2) {
                errors[kind] = e2;
            }
        }
        return { stream, errors };
    }
}

function mediaNotice(errors) {
    const { audio, video } = errors;
    if (!audio && !video) return '';
    const name = (audio || video).name;
    const both = audio && video;
    if (name === 'InsecureContext') {
        return 'Your browser only allows the camera and microphone on secure (https) pages. You can still join, but others will not see or hear you.';
    }
    if (name === 'NotAllowedError' || name === 'SecurityError') {
        return both
            ? 'Your browser blocked the camera and microphone. You can still join to watch and listen. To allow them, use the camera icon in the address bar, then reload the page.'
            : `Your browser blocked the ${audio ? 'microphone' : 'camera'}. To allow it, use the icon in the address bar, then reload the page.`;
    }
    if (name === 'NotReadableError' || name === 'AbortError') {
        return both
            ? 'The camera and microphone are in use by another application. Close it and reload, or join without them.'
            : `The ${audio ? 'microphone' : 'camera'} is in use by another application. You can still join without it.`;
    }
    if (both) return 'No camera or microphone was found. You can still join to watch and listen.';
    return audio
        ? 'No microphone was found. You can still join; others will not hear you.'
        : 'No camera was found. You can still join with audio only.';
}

async function startPreview() {
    $('preview-placeholder').textContent = 'Starting camera…';
    show($('preview-placeholder'), true);
    const { stream, errors } = await acquireMedia();
    app.stream = stream;
    const notice = mediaNotice(errors);
    $('media-notice').textContent = notice;
    show($('media-notice'), !!notice);
    attachPreview();
    await fillDeviceSelects();
}

function attachPreview() {
    const video = $('preview-video');
    video.srcObject = app.stream;
    video.play().catch(() => { /* muted autoplay: nothing to do */ });
    applyLocalMute();
    startMeter();
}

function audioTrack() {
    return app.stream ? app.stream.getAudioTracks()[0] || null : null;
}

function videoTrack() {
    return app.stream ? app.stream.getVideoTracks()[0] || null : null;
}

/** applyLocalMute makes the tracks and the toggles match the user's choice. */
function applyLocalMute() {
    const a = audioTrack();
    const v = videoTrack();
    if (a) a.enabled = !app.audioMuted;
    if (v) v.enabled = !app.videoMuted;
    setToggle($('join-mic-toggle'), app.audioMuted || !a, !a,
        app.audioMuted ? 'Turn microphone on' : 'Join with microphone off');
    setToggle($('join-camera-toggle'), app.videoMuted || !v, !v,
        app.videoMuted ? 'Turn camera on' : 'Join with camera off');
    updatePreviewAvatar();
    if (app.client) {
        app.client.setMuted({ audio: app.audioMuted, video: app.videoMuted });
        updateCallButtons();
        if (app.selfTile) {
            app.selfTile.update({ audioMuted: app.audioMuted || !a, videoMuted: app.videoMuted || !v });
        }
    }
}

function setToggle(button, pressed, disabled, label) {
    button.setAttribute('aria-pressed', String(pressed));
    button.disabled = disabled;
    button.setAttribute('aria-label', disabled ? (button.id.includes('mic') || button.id === 'mute-button' ? 'No microphone' : 'No camera') : label);
    button.title = button.getAttribute('aria-label');
}

function updatePreviewAvatar() {
    const v = videoTrack();
    const off = !v || app.videoMuted;
    show($('preview-avatar'), off);
    show($('preview-placeholder'), false);
    $('preview-initials').textContent = initials($('join-name').value);
    $('preview-initials').style.setProperty('--hue', String(avatarHue($('join-name').value || 'you')));
}

async function fillDeviceSelects() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    let devices = [];
    try {
        devices = await navigator.mediaDevices.enumerateDevices();
    } catch (e) {
        return;
    }
    fillSelect($('camera-select'), devices.filter((d) => d.kind === 'videoinput'), videoTrack(), 'Camera', 'No camera');
    fillSelect($('mic-select'), devices.filter((d) => d.kind === 'audioinput'), audioTrack(), 'Microphone', 'No microphone');
}

function fillSelect(select, devices, track, noun, none) {
    const current = track && track.getSettings ? track.getSettings().deviceId || '' : '';
    select.replaceChildren();
    const usable = devices.filter((d) => d.deviceId);
    if (!usable.length) {
        select.append(new Option(none, ''));
        select.disabled = true;
        return;
    }
    usable.forEach((d, i) => {
        const label = d.label || `${noun} ${i + 1}`;
        select.append(new Option(label, d.deviceId, false, d.deviceId === current));
    });
    if (!track) select.prepend(new Option(`${none} selected`, '', true, true));
    select.disabled = false;
}

/** switchDevice replaces the camera or microphone with another device. */
async function switchDevice(kind, deviceId) {
    if (!deviceId) return;
    const old = kind === 'audio' ? audioTrack() : videoTrack();
    if (old) {
        old.stop(); // Some browsers cannot open a second camera while the first runs.
        app.stream.removeTrack(old);
    }
    try {
        const s = await navigator.mediaDevices.getUserMedia({ [kind]: mediaConstraints(kind, deviceId, true) });
        const track = s.getTracks()[0];
        app.stream.addTrack(track);
        storageSet(kind === 'audio' ? STORAGE.mic : STORAGE.camera, deviceId);
        show($('media-notice'), false);
    } catch (e) {
        const errs = { audio: null, video: null };
        errs[kind] = e;
        $('media-notice').textContent = mediaNotice(errs);
        show($('media-notice'), true);
    }
    attachPreview();
    await fillDeviceSelects();
}

// ---------------------------------------------------------------- mic meter

const meter = { ctx: null, source: null, analyser: null, frame: 0, data: null };

function startMeter() {
    stopMeter();
    const track = audioTrack();
    if (!track) { setMeter(0); return; }
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    if (!meter.ctx) {
        meter.ctx = new Ctx();
        const resume = () => { if (meter.ctx && meter.ctx.state === 'suspended') meter.ctx.resume(); };
        document.addEventListener('pointerdown', resume);
        document.addEventListener('keydown', resume);
    }
    meter.ctx.resume().catch(() => { /* resumed on the first click */ });
    meter.source = meter.ctx.createMediaStreamSource(new MediaStream([track]));
    meter.analyser = meter.ctx.createAnalyser();
    meter.analyser.fftSize = 1024;
    meter.data = new Float32Array(meter.analyser.fftSize);
    meter.source.connect(meter.analyser);
    const tick = () => {
        meter.analyser.getFloatTimeDomainData(meter.data);
        let sum = 0;
        for (const x of meter.data) sum += x * x;
        const rms = Math.sqrt(sum / meter.data.length);
        const db = 20 * Math.log10(rms || 1e-8);
        setMeter(track.enabled ? Math.min(1, Math.max(0, (db + 60) / 50)) : 0);
        meter.frame = requestAnimationFrame(tick);
    };
    meter.frame = requestAnimationFrame(tick);
}

function setMeter(level) {
    $('mic-meter-fill').style.transform = `scaleX(${level.toFixed(3)})`;
    $('mic-meter').setAttribute('aria-valuenow', String(Math.round(level * 100)));
}

function stopMeter() {
    cancelAnimationFrame(meter.frame);
    if (meter.source) meter.source.disconnect();
    meter.source = meter.analyser = null;
}

function closeMeter() {
    stopMeter();
    if (meter.ctx) meter.ctx.close().catch(() => {});
    meter.ctx = null;
}

// ---------------------------------------------------------------- joining

async function onJoinClicked() {
    if (app.joining) return;
    const name = $('join-name').value.trim();
    if (!name) {
        show($('name-error'), true);
        $('join-name').focus();
        return;
    }
    app.name = name.slice(0, 64);
    storageSet(STORAGE.name, app.name);
    const button = $('join-button');
    button.disabled = true;
    button.textContent = 'Joining…';
    show($('join-error'), false);
    try {
        if (app.mediaReady) await app.mediaReady;
        await startCall();
    } finally {
        button.disabled = false;
        button.textContent = 'Join call';
    }
}

/** rejoin joins the same room again, getting the camera and microphone back. */
async function rejoin() {
    hideBanner();
    const old = app.client;
    app.client = null; // so its "closed" event is ignored
    if (old) old.close();
    if (!app.stream || !app.stream.getTracks().some((t) => t.readyState === 'live')) {
        const { stream } = await acquireMedia();
        app.stream = stream;
        applyLocalMute();
    }
    await startCall();
}

async function startCall() {
    app.joining = true;
    app.userLeft = false;
    closeMeter();
    const client = app.prepared || new ParleyClient({ link: app.link });
    app.prepared = null;
    app.client = client;
    listen(client);

    showScreen('call');
    $('call-room-name').textContent = (app.room && app.room.name) || 'Call';
    setConnectionState('connecting');
    clearTiles();
    app.leftIds.clear();
    app.selfTile = new Tile('self', { local: true });
    app.selfTile.update({ name: `${app.name} (you)`, audioMuted: app.audioMuted || !audioTrack(), videoMuted: app.videoMuted || !videoTrack() });
    app.selfTile.setStream(app.stream);
    layout();
    updateCallButtons();
    try {
        await client.join({
            name: app.name,
            stream: app.stream,
            audioMuted: app.audioMuted,
            videoMuted: app.videoMuted,
        });
    } catch (e) {
        client.close();
        if (app.client !== client) return;
        app.client = null;
        clearTiles();
        if (e.code === 'room-not-found') {
            showInvalidLink();
        } else {
            backToJoin(errorText(e.code, e.message));
        }
    } finally {
        app.joining = false;
    }
}

function backToJoin(message) {
    showScreen('join');
    $('join-error').textContent = message;
    show($('join-error'), !!message);
    attachPreview();
}

function listen(client) {
    const on = (type, fn) => client.addEventListener(type, (ev) => {
        if (app.client === client) fn(ev.detail);
    });
    on('joined', onJoined);
    on('participant-joined', ({ participant }) => { tileFor(participant.id).update(participant); layout(); });
    on('participant-updated', ({ participant }) => {
        if (participant.id === client.participantId) return; // we know our own state
        tileFor(participant.id).update(participant);
    });
    on('participant-left', ({ participantId }) => {
        app.leftIds.add(participantId);
        removeTile(participantId);
    });
    on('track', onTrack);
    on('connectionstate', ({ state }) => onConnectionState(state));
    on('error', (e) => {
        if (!e.fatal && !app.joining) showBanner(errorText(e.code, e.message));
    });
    on('closed', onClosed);
}

function onJoined({ participantId, room, participants }) {
    if (room && room.name) {
        app.room = room;
        $('call-room-name').textContent = room.name;
        document.title = `${room.name} — Parley`;
    }
    app.selfTile.setId(participantId);
    for (const p of participants) tileFor(p.id).update(p);
    layout();
}

function onTrack({ participantId, track, streams }) {
    if (!participantId || app.leftIds.has(participantId)) return;
    // A receiver may be reused for another participant: take the track away
    // from its previous owner first.
    const previous = app.trackOwner.get(track);
    if (previous && previous !== participantId && app.tiles.has(previous)) {
        app.tiles.get(previous).removeTrack(track);
    }
    app.trackOwner.set(track, participantId);
    tileFor(participantId).addTrack(track);
    for (const s of streams) {
        s.onremovetrack = (ev) => {
            const owner = app.trackOwner.get(ev.track);
            if (owner === s.id && app.tiles.has(owner)) app.tiles.get(owner).removeTrack(ev.track);
        };
    }
    layout();
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
    if (app.joining) return; // startCall reports join failures itself
    app.client = null;
    clearTiles();
    stopLocalMedia();
    show($('sound-button'), false);
    let title;
    let text = '';
    if (app.userLeft) {
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

function stopLocalMedia() {
    if (app.stream) for (const t of app.stream.getTracks()) t.stop();
}

async function leave() {
    app.userLeft = true;
    hideBanner();
    if (app.client) await app.client.leave();
}

// ---------------------------------------------------------------- call page controls

function updateCallButtons() {
    const a = audioTrack();
    const v = videoTrack();
    const mute = $('mute-button');
    const cam = $('camera-button');
    setToggle(mute, app.audioMuted || !a, !a, app.audioMuted ? 'Unmute microphone' : 'Mute microphone');
    setToggle(cam, app.videoMuted || !v, !v, app.videoMuted ? 'Turn camera on' : 'Turn camera off');
}

function initCallControls() {
    $('mute-button').addEventListener('click', () => {
        app.audioMuted = !app.audioMuted;
        applyLocalMute();
    });
    $('camera-button').addEventListener('click', () => {
        app.videoMuted = !app.videoMuted;
        applyLocalMute();
    });
    $('leave-button').addEventListener('click', leave);
    $('rejoin-button').addEventListener('click', rejoin);
    $('banner-close').addEventListener('click', hideBanner);
    $('sound-button').addEventListener('click', () => {
        show($('sound-button'), false);
        for (const tile of app.tiles.values()) tile.playAudio();
    });
    $('copy-link-button').addEventListener('click', copyLink);
    window.addEventListener('pagehide', () => {
        if (app.client) app.client.leave();
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

// ---------------------------------------------------------------- tiles

class Tile {
    constructor(id, { local = false } = {}) {
        this.id = id;
        this.local = local;
        this.participant = { id, name: '', audioMuted: false, videoMuted: false };
        this.el = $('tile-template').content.firstElementChild.cloneNode(true);
        this.el.classList.add(local ? 'local' : 'remote');
        this.el.dataset.participantId = id;
        this.video = this.el.querySelector('video');
        if (local) this.video.classList.add('mirrored');
        this.stream = new MediaStream();
        this.audio = null;
        this.onTrackChange = () => this.render();
        for (const ev of ['loadedmetadata', 'resize', 'emptied']) this.video.addEventListener(ev, this.onTrackChange);
        if (local) {
            $('grid').prepend(this.el);
        } else {
            $('grid').append(this.el);
            this.video.srcObject = this.stream;
        }
        this.render();
    }

    setId(id) {
        this.id = id;
        this.el.dataset.participantId = id;
    }

    setStream(stream) {
        // The self-view shows the local camera; audio stays off (muted element).
        this.stream = stream || new MediaStream();
        this.video.srcObject = this.stream;
        this.video.play().catch(() => {});
        this.render();
    }

    update(p) {
        Object.assign(this.participant, p);
        this.render();
    }

    addTrack(track) {
        if (this.stream.getTracks().includes(track)) return;
        for (const old of this.stream.getTracks().filter((t) => t.kind === track.kind)) this.removeTrack(old);
        this.stream.addTrack(track);
        for (const ev of ['mute', 'unmute', 'ended']) track.addEventListener(ev, this.onTrackChange);
        if (track.kind === 'audio') {
            if (!this.audio) {
                this.audio = document.createElement('audio');
                this.audio.autoplay = true;
                this.audio.className = 'tile-audio';
                this.el.append(this.audio);
            }
            this.audio.srcObject = this.stream;
            this.playAudio();
        } else {
            // Re-set srcObject so every browser notices the new video track.
            this.video.srcObject = this.stream;
            this.video.play().catch(() => {});
        }
        this.render();
    }

    removeTrack(track) {
        if (!this.stream.getTracks().includes(track)) return;
        this.stream.removeTrack(track);
        for (const ev of ['mute', 'unmute', 'ended']) track.removeEventListener(ev, this.onTrackChange);
        this.render();
    }

    playAudio() {
        if (!this.audio) return;
        const p = this.audio.play();
        if (p) {
            p.catch((e) => {
                if (e && e.name === 'NotAllowedError') show($('sound-button'), true);
            });
        }
    }

    // track.muted is not a reliable "no video" signal across browsers, so a
    // remote tile shows its video once a frame has been decoded.
    hasLiveVideo() {
        const live = this.stream.getVideoTracks().some((t) => t.readyState === 'live');
        return live && (this.local || this.video.videoWidth > 0);
    }

    render() {
        const p = this.participant;
        const name = p.name || (this.local ? 'You' : 'Guest');
        this.el.querySelector('.tile-name').textContent = name;
        const avatar = this.el.querySelector('.avatar');
        avatar.textContent = initials(this.local ? app.name : name);
        avatar.style.setProperty('--hue', String(avatarHue(this.local ? app.name : p.id)));
        show(this.el.querySelector('.tile-mic-off'), !!p.audioMuted);
        show(this.el.querySelector('.tile-cam-off'), !!p.videoMuted);
        const videoOn = !p.videoMuted && this.hasLiveVideo();
        this.el.classList.toggle('video-off', !videoOn);
        this.el.setAttribute('aria-label', `${name}${p.audioMuted ? ', microphone off' : ''}${p.videoMuted ? ', camera off' : ''}`);
    }

    destroy() {
        for (const t of this.stream.getTracks()) {
            for (const ev of ['mute', 'unmute', 'ended']) t.removeEventListener(ev, this.onTrackChange);
        }
        this.video.srcObject = null;
        if (this.audio) this.audio.srcObject = null;
        this.el.remove();
    }
}

function tileFor(id) {
    let tile = app.tiles.get(id);
    if (!tile) {
        tile = new Tile(id);
        const known = app.client && app.client.participants.get(id);
        if (known) tile.update(known);
        app.tiles.set(id, tile);
        layout();
    }
    return tile;
}

function removeTile(id) {
    const tile = app.tiles.get(id);
    if (!tile) return;
    for (const t of tile.stream.getTracks()) app.trackOwner.delete(t);
    tile.destroy();
    app.tiles.delete(id);
    layout();
}

function clearTiles() {
    for (const id of [...app.tiles.keys()]) removeTile(id);
    if (app.selfTile) {
        app.selfTile.video.srcObject = null;
        app.selfTile.el.remove();
        app.selfTile = null;
    }
    app.trackOwner.clear();
    layout();
}

/**
 * layout sizes the grid's tiles so they are as large as possible for the
 * space and the number of participants. With one other person the
 * self-view floats in a corner instead.
 */
function layout() {
    const grid = $('grid');
    const remote = app.tiles.size;
    const pip = remote === 1 && !!app.selfTile;
    grid.classList.toggle('pip', pip);
    show($('alone-hint'), remote === 0 && !!app.selfTile && document.body.dataset.screen === 'call');
    $('participant-count').textContent = app.selfTile ? `${remote + 1} ${remote === 0 ? 'person' : 'people'}` : '';
    const n = pip ? 1 : remote + (app.selfTile ? 1 : 0);
    const rect = grid.getBoundingClientRect();
    const styles = getComputedStyle(grid);
    const gap = parseFloat(styles.columnGap) || 8;
    const W = rect.width - (parseFloat(styles.paddingLeft) || 0) - (parseFloat(styles.paddingRight) || 0);
    const H = rect.height - (parseFloat(styles.paddingTop) || 0) - (parseFloat(styles.paddingBottom) || 0);
    if (n === 0 || W <= 0 || H <= 0) return;
    const aspects = H > W ? [16 / 9, 4 / 3, 1, 3 / 4] : [16 / 9, 4 / 3];
    let best = { area: -1, cols: 1, w: W, h: H };
    for (let cols = 1; cols <= n; cols++) {
        const rows = Math.ceil(n / cols);
        const cellW = (W - gap * (cols - 1)) / cols;
        const cellH = (H - gap * (rows - 1)) / rows;
        for (const aspect of aspects) {
            const w = Math.min(cellW, cellH * aspect);
            const h = w / aspect;
            // Prefer 16:9 slightly: cameras send it, so less is cropped.
            const area = w * h * (aspect === 16 / 9 ? 1.15 : 1);
            if (area > best.area) best = { area, cols, w, h };
        }
    }
    grid.style.setProperty('--tile-w', `${Math.floor(best.w)}px`);
    grid.style.setProperty('--tile-h', `${Math.floor(best.h)}px`);
    grid.style.setProperty('--cols', String(best.cols));
}

// ---------------------------------------------------------------- start

function main() {
    initCallControls();
    app.link = linkFromPath(location.pathname);
    if (app.link) {
        initJoin();
    } else if (location.pathname.startsWith('/r/')) {
        showInvalidLink();
    } else {
        initLanding();
    }
}

main();
