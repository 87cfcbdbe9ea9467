// media.js — the local camera and microphone: getting them, the preview
// and level meter on the join page, the device lists, switching devices,
// and muting (which only disables tracks; the call module tells the
// server).

import { $, STORAGE, storageGet, storageSet, show, initials, avatarHue } from './dom.js';

/**
 * local is the local media, owned by this module; others read it.
 * stream may have 0, 1 or 2 tracks; ready settles when the first
 * camera/microphone attempt is over; the mute flags are the user's choice.
 */
export const local = {
    stream: null,
    ready: null,
    audioMuted: false,
    videoMuted: false,
};

// muteListener is told after every change of the mute choice (set by the
// call module, which tells the server and redraws the call buttons).
let muteListener = null;

/** onMuteChange sets the function told after each mute change. */
export function onMuteChange(fn) {
    muteListener = fn;
}

export function audioTrack() {
    return local.stream ? local.stream.getAudioTracks()[0] || null : null;
}

export function videoTrack() {
    return local.stream ? local.stream.getVideoTracks()[0] || null : null;
}

/** hasLiveMedia reports whether a local track still runs. */
export function hasLiveMedia() {
    return !!local.stream && local.stream.getTracks().some((t) => t.readyState === 'live');
}

/** initMediaControls wires the join page's toggles and device lists. */
export function initMediaControls() {
    $('join-mic-toggle').addEventListener('click', () => toggleMute('audio'));
    $('join-camera-toggle').addEventListener('click', () => toggleMute('video'));
    $('camera-select').addEventListener('change', () => switchDevice('video', $('camera-select').value));
    $('mic-select').addEventListener('change', () => switchDevice('audio', $('mic-select').value));
    if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
        navigator.mediaDevices.addEventListener('devicechange', () => fillDeviceSelects());
    }
}

/** toggleMute flips the user's choice for "audio" or "video". */
export function toggleMute(kind) {
    if (kind === 'audio') local.audioMuted = !local.audioMuted;
    else local.videoMuted = !local.videoMuted;
    applyLocalMute();
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
export async function acquireMedia() {
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

/** reacquireMedia gets the camera and microphone again after stopLocalMedia. */
export async function reacquireMedia() {
    if (hasLiveMedia()) return;
    const { stream } = await acquireMedia();
    local.stream = stream;
    applyLocalMute();
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

/** startPreview gets the devices and shows them on the join page. */
export async function startPreview() {
    $('preview-placeholder').textContent = 'Starting camera…';
    show($('preview-placeholder'), true);
    const { stream, errors } = await acquireMedia();
    local.stream = stream;
    const notice = mediaNotice(errors);
    $('media-notice').textContent = notice;
    show($('media-notice'), !!notice);
    attachPreview();
    await fillDeviceSelects();
}

/** attachPreview shows the local stream in the join page's preview. */
export function attachPreview() {
    const video = $('preview-video');
    video.srcObject = local.stream;
    video.play().catch(() => { /* muted autoplay: nothing to do */ });
    applyLocalMute();
    startMeter();
}

/** applyLocalMute makes the tracks and the toggles match the user's choice. */
export function applyLocalMute() {
    const a = audioTrack();
    const v = videoTrack();
    if (a) a.enabled = !local.audioMuted;
    if (v) v.enabled = !local.videoMuted;
    setToggle($('join-mic-toggle'), local.audioMuted || !a, !a,
        local.audioMuted ? 'Turn microphone on' : 'Join with microphone off');
    setToggle($('join-camera-toggle'), local.videoMuted || !v, !v,
        local.videoMuted ? 'Turn camera on' : 'Join with camera off');
    updatePreviewAvatar();
    if (muteListener) muteListener();
}

/** setToggle draws a round on/off button. */
export function setToggle(button, pressed, disabled, label) {
    button.setAttribute('aria-pressed', String(pressed));
    button.disabled = disabled;
    button.setAttribute('aria-label', disabled ? (button.id.includes('mic') || button.id === 'mute-button' ? 'No microphone' : 'No camera') : label);
    button.title = button.getAttribute('aria-label');
}

/** updatePreviewAvatar shows initials in the preview when the camera is off. */
export function updatePreviewAvatar() {
    const v = videoTrack();
    const off = !v || local.videoMuted;
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
        local.stream.removeTrack(old);
    }
    try {
        const s = await navigator.mediaDevices.getUserMedia({ [kind]: mediaConstraints(kind, deviceId, true) });
        const track = s.getTracks()[0];
        local.stream.addTrack(track);
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

/** stopLocalMedia turns the camera and microphone off. */
export function stopLocalMedia() {
    if (local.stream) for (const t of local.stream.getTracks()) t.stop();
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

/** closeMeter stops the level meter and frees its audio context. */
export function closeMeter() {
    stopMeter();
    if (meter.ctx) meter.ctx.close().catch(() => {});
    meter.ctx = null;
}

// ---------------------------------------------------------------- simulcast

/**
 * CAMERA_LAYERS are the encodings the camera is sent as (protocol version
 * 2, docs/protocol.md "Simulcast"): lowest quality first, each a quarter,
 * a half and all of the camera's size. layers.js picks one per tile.
 */
export const CAMERA_LAYERS = [
    { rid: 'q', scaleResolutionDownBy: 4 },
    { rid: 'h', scaleResolutionDownBy: 2 },
    { rid: 'f', scaleResolutionDownBy: 1 },
];

/**
 * cameraEncodings is what the camera is published with: the three
 * simulcast layers, or null (one layer) in a browser without
 * RTCRtpSender parameters. Chrome, Safari and current Firefox ESR take
 * sendEncodings with rids in addTransceiver; one that throws on them is
 * given one layer instead (publisher.js).
 */
export function cameraEncodings() {
    const S = globalThis.RTCRtpSender;
    if (!S || typeof S.prototype.getParameters !== 'function') return null;
    return CAMERA_LAYERS.map((e) => ({ ...e }));
}
