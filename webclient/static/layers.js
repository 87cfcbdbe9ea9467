// layers.js — which simulcast layer of each other participant's camera to
// receive: the one that suits the size of their tile (docs/protocol.md,
// "Simulcast"). Small tiles get the lowest layer, a large or only tile the
// full one. It watches the remote tiles' sizes (by their elements in the
// grid, which tiles.js draws) and asks the server again, debounced, when
// a tile's choice changes.
//
// A publisher whose machine or network is short stops sending its upper
// layers, and the server then forwards nothing until it is asked for
// another: a tile whose video stops while its camera is on is stepped one
// layer down, and the layer above is tried again later. Choosing layers by
// bandwidth is for a later version.

import { $ } from './dom.js';
import { CAMERA_LAYERS } from './media.js';

/**
 * LAYER_MAX_WIDTH is the widest tile, in device pixels, each layer is
 * asked for: a layer is used up to a little above its own width at a
 * 1280-pixel camera (320, 640, 1280), the full one beyond.
 */
export const LAYER_MAX_WIDTH = { q: 360, h: 720, f: Infinity };

/** DEBOUNCE_MS is how long the tiles' sizes must rest before asking. */
export const DEBOUNCE_MS = 300;

/**
 * STALL_MS: a visible tile whose camera is on and whose video shows no new
 * frame for this long is on a layer that stopped; it is stepped down, and
 * RETRY_MS later the layer above may be asked for again.
 */
export const STALL_MS = 2500;
export const RETRY_MS = 15000;

const RIDS = CAMERA_LAYERS.map((l) => l.rid);

/** layerFor is the layer (rid) for a tile width in CSS pixels. */
export function layerFor(cssWidth, ratio = globalThis.devicePixelRatio || 1) {
    const w = cssWidth * ratio;
    for (const rid of RIDS) if (w <= LAYER_MAX_WIDTH[rid]) return rid;
    return RIDS[RIDS.length - 1];
}

/**
 * watchLayers asks, for each other participant whose video the client
 * receives, the layer that suits their tile, and again when it changes.
 * It returns a function that stops it (for a client that has closed).
 */
export function watchLayers(client) {
    const grid = $('grid');
    // Per participant whose video the server sends us: the rid last asked
    // for, and the highest layer index allowed until capUntil (a stall).
    const state = new Map(); // id -> {asked, cap, capUntil, frames, framesAt}
    let timer = 0;
    const schedule = () => {
        clearTimeout(timer);
        timer = setTimeout(update, DEBOUNCE_MS);
    };
    const update = () => {
        const now = Date.now();
        for (const el of grid.querySelectorAll('.tile.remote[data-participant-id]')) {
            const st = state.get(el.dataset.participantId);
            if (!st) continue;
            const width = el.getBoundingClientRect().width;
            if (width <= 0) continue;
            let i = RIDS.indexOf(layerFor(width));
            if (st.capUntil > now) i = Math.min(i, st.cap);
            const rid = RIDS[i];
            if (st.asked === rid) continue;
            if (client.setLayer(el.dataset.participantId, rid)) {
                st.asked = rid;
                el.dataset.layer = rid; // for the curious, and the tests
            }
        }
    };
    // checkStalls steps down the tiles whose video has stopped (see STALL_MS),
    // and lets those whose cap has expired go up again.
    const checkStalls = () => {
        if (document.visibilityState === 'hidden') return; // no frames are painted
        const now = Date.now();
        let changed = false;
        for (const el of grid.querySelectorAll('.tile.remote[data-participant-id]')) {
            const st = state.get(el.dataset.participantId);
            const v = el.querySelector('video');
            if (!st || !v) continue;
            if (st.capUntil && st.capUntil <= now) {
                st.capUntil = 0;
                changed = true;
            }
            const frames = framesShown(v);
            const p = client.participants.get(el.dataset.participantId);
            if (frames !== st.frames || (p && p.videoMuted)) {
                st.frames = frames;
                st.framesAt = now;
                continue;
            }
            const i = RIDS.indexOf(st.asked);
            if (i > 0 && now - st.framesAt >= STALL_MS) {
                st.cap = i - 1;
                st.capUntil = now + RETRY_MS;
                st.framesAt = now;
                changed = true;
            }
        }
        if (changed) update();
    };
    const onTrack = (ev) => {
        const { participantId, track } = ev.detail;
        if (!participantId || track.kind !== 'video') return;
        // A new down-track starts on the lowest layer: ask again.
        state.set(participantId, { asked: '', cap: 0, capUntil: 0, frames: -1, framesAt: Date.now() });
        schedule();
    };
    const onLeft = (ev) => state.delete(ev.detail.participantId);
    const onRefused = (ev) => console.info('parley: layer refused:', ev.detail.code, ev.detail.message);
    client.addEventListener('track', onTrack);
    client.addEventListener('participant-left', onLeft);
    client.addEventListener('layer-refused', onRefused);
    const sizes = window.ResizeObserver ? new ResizeObserver(schedule) : null;
    const observe = () => {
        if (sizes) for (const el of grid.querySelectorAll('.tile.remote')) sizes.observe(el);
        schedule();
    };
    const tiles = new MutationObserver(observe);
    tiles.observe(grid, { childList: true });
    window.addEventListener('resize', schedule);
    const stalls = setInterval(checkStalls, 500);
    observe();
    return () => {
        clearTimeout(timer);
        clearInterval(stalls);
        tiles.disconnect();
        if (sizes) sizes.disconnect();
        window.removeEventListener('resize', schedule);
        client.removeEventListener('track', onTrack);
        client.removeEventListener('participant-left', onLeft);
        client.removeEventListener('layer-refused', onRefused);
    };
}

// painted counts, per video element, the frames presented
// (requestVideoFrameCallback, where the browser has it).
const painted = new WeakMap();

// framesShown is how many frames v has presented so far.
function framesShown(v) {
    if (typeof v.requestVideoFrameCallback === 'function') {
        let c = painted.get(v);
        if (!c) {
            c = { n: 0 };
            painted.set(v, c);
            const tick = () => { c.n++; v.requestVideoFrameCallback(tick); };
            v.requestVideoFrameCallback(tick);
        }
        return c.n;
    }
    const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
    return q ? q.totalVideoFrames : 0;
}
