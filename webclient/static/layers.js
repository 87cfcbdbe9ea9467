// layers.js — which simulcast layer of each other participant's camera to
// receive: the one that suits the size of their tile (docs/protocol.md,
// "Simulcast"). Small tiles get the lowest layer, a large or only tile the
// full one. It watches the remote tiles' sizes (by their elements in the
// grid, which tiles.js draws) and asks the server again, debounced, when
// a tile's choice changes. Choosing layers by bandwidth is for later.

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

/** layerFor is the layer (rid) for a tile width in CSS pixels. */
export function layerFor(cssWidth, ratio = globalThis.devicePixelRatio || 1) {
    const w = cssWidth * ratio;
    for (const { rid } of CAMERA_LAYERS) if (w <= LAYER_MAX_WIDTH[rid]) return rid;
    return CAMERA_LAYERS[CAMERA_LAYERS.length - 1].rid;
}

/**
 * watchLayers asks, for each other participant whose video the client
 * receives, the layer that suits their tile, and again when it changes.
 * It returns a function that stops it (for a client that has closed).
 */
export function watchLayers(client) {
    const grid = $('grid');
    const asked = new Map(); // participant id -> the rid last asked for
    const video = new Set(); // participants whose video the server sends us
    let timer = 0;
    const schedule = () => {
        clearTimeout(timer);
        timer = setTimeout(update, DEBOUNCE_MS);
    };
    const update = () => {
        for (const el of grid.querySelectorAll('.tile.remote[data-participant-id]')) {
            const id = el.dataset.participantId;
            if (!video.has(id)) continue;
            const width = el.getBoundingClientRect().width;
            if (width <= 0) continue;
            const rid = layerFor(width);
            if (asked.get(id) === rid) continue;
            if (client.setLayer(id, rid)) asked.set(id, rid);
        }
    };
    const onTrack = (ev) => {
        const { participantId, track } = ev.detail;
        if (!participantId || track.kind !== 'video') return;
        // A new down-track starts on the lowest layer: ask again.
        video.add(participantId);
        asked.delete(participantId);
        schedule();
    };
    const onLeft = (ev) => {
        video.delete(ev.detail.participantId);
        asked.delete(ev.detail.participantId);
    };
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
    observe();
    return () => {
        clearTimeout(timer);
        tiles.disconnect();
        if (sizes) sizes.disconnect();
        window.removeEventListener('resize', schedule);
        client.removeEventListener('track', onTrack);
        client.removeEventListener('participant-left', onLeft);
        client.removeEventListener('layer-refused', onRefused);
    };
}
