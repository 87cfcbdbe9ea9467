// dom.js — small helpers every part of the page uses: element lookup,
// showing and hiding, the current screen, local storage, avatars.

/** $ returns the element with the given id. */
export const $ = (id) => document.getElementById(id);

/** STORAGE names the localStorage keys of the choices we remember. */
export const STORAGE = { name: 'parley.name', camera: 'parley.cameraId', mic: 'parley.micId' };

export function storageGet(key) {
    try { return localStorage.getItem(key) || ''; } catch (e) { return ''; }
}

export function storageSet(key, value) {
    try { localStorage.setItem(key, value); } catch (e) { /* private mode */ }
}

export function show(el, visible) {
    el.hidden = !visible;
}

/** showScreen shows one of the landing, join, call and left screens. */
export function showScreen(name) {
    for (const s of ['landing', 'join', 'call', 'left']) show($(`${s}-screen`), s === name);
    document.body.dataset.screen = name;
}

/** initials are the first letters of the first and last words of a name. */
export function initials(name) {
    const words = String(name || '').trim().split(/\s+/).filter(Boolean);
    if (!words.length) return '?';
    const first = [...words[0]][0] || '';
    const last = words.length > 1 ? [...words[words.length - 1]][0] || '' : '';
    return (first + last).toUpperCase();
}

// A calm colour per participant, picked from the id.
const AVATAR_HUES = [210, 250, 170, 20, 330, 140, 280, 40];

export function avatarHue(id) {
    let h = 0;
    for (const ch of String(id)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    return AVATAR_HUES[h % AVATAR_HUES.length];
}
