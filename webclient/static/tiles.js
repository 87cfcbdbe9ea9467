// tiles.js — the call's video tiles and their layout: one tile per other
// participant, the self-view, which track plays in which tile, and the
// grid that sizes them.

import { $, show, initials, avatarHue } from './dom.js';

// The tiles on the page, owned by this module.
const remote = new Map();      // participant id -> Tile
const trackOwner = new Map();  // MediaStreamTrack -> participant id
let self = null;               // the self-view Tile, or null outside a call

class Tile {
    constructor(id, { local = false, avatarName = '' } = {}) {
        this.id = id;
        this.local = local;
        this.avatarName = avatarName; // the local tile's initials come from the bare name
        this.participant = { id, name: '', audioMuted: false, videoMuted: false, connection: 'connected' };
        this.el = $('tile-template').content.firstElementChild.cloneNode(true);
        this.el.classList.add(local ? 'local' : 'remote');
        this.el.dataset.participantId = id;
        this.video = this.el.querySelector('video');
        if (local) this.video.classList.add('mirrored');
        this.stream = new MediaStream();
        this.audio = null;
        this.onTrackChange = () => this.render();
        for (const ev of ['loadedmetadata', 'resize', 'emptied']) this.video.addEventListener(ev, this.onTrackChange);
        // A new video size may change the tiles' shape: lay out again.
        for (const ev of ['loadedmetadata', 'resize']) this.video.addEventListener(ev, () => layout());
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

    /** aspect is the width/height of the video playing, or 0. */
    aspect() {
        const { videoWidth: w, videoHeight: h } = this.video;
        return w > 0 && h > 0 ? w / h : 0;
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
        avatar.textContent = initials(this.local ? this.avatarName : name);
        avatar.style.setProperty('--hue', String(avatarHue(this.local ? this.avatarName : p.id)));
        show(this.el.querySelector('.tile-mic-off'), !!p.audioMuted);
        const micOff = this.el.querySelector('.tile-mic-off');
        micOff.title = p.audioMutedByHost ? 'Muted by a host' : 'Microphone off';
        micOff.querySelector('.visually-hidden').textContent = micOff.title;
        // Hosts and guests are marked; members, the usual case, are not.
        const role = this.el.querySelector('.tile-role');
        role.textContent = p.role === 'host' ? 'Host' : p.role === 'guest' ? 'Guest' : '';
        role.dataset.role = p.role || '';
        show(role, p.role === 'host' || p.role === 'guest');
        show(this.el.querySelector('.tile-cam-off'), !!p.videoMuted);
        const videoOn = !p.videoMuted && this.hasLiveVideo();
        this.el.classList.toggle('video-off', !videoOn);
        // Their connection dropped; the server keeps their place a while.
        const reconnecting = p.connection === 'reconnecting';
        this.el.classList.toggle('reconnecting', reconnecting);
        this.el.dataset.connection = p.connection || 'connected';
        show(this.el.querySelector('.tile-status'), reconnecting);
        const roleText = p.role === 'host' ? ', host' : p.role === 'guest' ? ', guest' : '';
        this.el.setAttribute('aria-label', `${name}${roleText}${p.audioMutedByHost ? ', muted by a host' : p.audioMuted ? ', microphone off' : ''}${p.videoMuted ? ', camera off' : ''}${reconnecting ? ', reconnecting' : ''}`);
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

/**
 * addSelfTile puts the self-view in the grid: name is the user's name,
 * stream the local media, muted {audioMuted, videoMuted}.
 */
export function addSelfTile(name, stream, muted) {
    self = new Tile('self', { local: true, avatarName: name });
    self.update({ name: `${name} (you)`, ...muted });
    self.setStream(stream);
    layout();
}

/** selfTile is the self-view, or null outside a call. */
export function selfTile() {
    return self;
}

/**
 * tileFor returns the tile of a participant, making it if needed; known is
 * what is known of the participant so far (or undefined).
 */
export function tileFor(id, known) {
    let tile = remote.get(id);
    if (!tile) {
        tile = new Tile(id);
        if (known) tile.update(known);
        remote.set(id, tile);
        layout();
    }
    return tile;
}

/** attachTrack plays a remote track in its participant's tile. */
export function attachTrack(participantId, track, streams, known) {
    // A receiver may be reused for another participant: take the track away
    // from its previous owner first.
    const previous = trackOwner.get(track);
    if (previous && previous !== participantId && remote.has(previous)) {
        remote.get(previous).removeTrack(track);
    }
    trackOwner.set(track, participantId);
    tileFor(participantId, known).addTrack(track);
    for (const s of streams) {
        s.onremovetrack = (ev) => {
            const owner = trackOwner.get(ev.track);
            if (owner === s.id && remote.has(owner)) remote.get(owner).removeTrack(ev.track);
        };
    }
    layout();
}

export function removeTile(id) {
    const tile = remote.get(id);
    if (!tile) return;
    for (const t of tile.stream.getTracks()) trackOwner.delete(t);
    tile.destroy();
    remote.delete(id);
    layout();
}

/** clearRemoteTiles removes the tiles of the others, keeping the self-view. */
export function clearRemoteTiles() {
    for (const id of [...remote.keys()]) removeTile(id);
    trackOwner.clear();
}

/** clearTiles removes every tile, the self-view too. */
export function clearTiles() {
    clearRemoteTiles();
    if (self) {
        self.video.srcObject = null;
        self.el.remove();
        self = null;
    }
    trackOwner.clear();
    layout();
}

/** remoteIds are the participant ids of the others' tiles. */
export function remoteIds() {
    return [...remote.keys()];
}

/** playAllAudio retries playing every tile's audio (after a click). */
export function playAllAudio() {
    for (const tile of remote.values()) tile.playAudio();
}

// A video is shown whole (letterboxed) rather than filling its tile when
// filling would crop more than this ratio of it: a 16:9 camera in a
// portrait tile must not be cut to a sliver.
const MAX_CROP = 1.25;

/**
 * layout sizes the grid's tiles so they are as large as possible for the
 * space and the number of participants, in the shape of the videos they
 * show. With one other person on a wide screen the self-view floats in a
 * corner instead; on a tall one (a phone) it takes a tile of its own, so
 * it never covers the other person.
 */
export function layout() {
    const grid = $('grid');
    // The banner and the phone's list of people go under the header, and
    // under the call's deadline when it shows.
    const deadline = $('call-deadline');
    const header = deadline && !deadline.hidden ? deadline : document.querySelector('.call-header');
    if (header) document.body.style.setProperty('--call-top', `${Math.round(header.getBoundingClientRect().bottom)}px`);
    const others = remote.size;
    show($('alone-hint'), others === 0 && !!self && document.body.dataset.screen === 'call');
    $('participant-count').textContent = self ? `${others + 1} ${others === 0 ? 'person' : 'people'}` : '';
    const rect = grid.getBoundingClientRect();
    const styles = getComputedStyle(grid);
    const gap = parseFloat(styles.columnGap) || 8;
    const W = rect.width - (parseFloat(styles.paddingLeft) || 0) - (parseFloat(styles.paddingRight) || 0);
    const H = rect.height - (parseFloat(styles.paddingTop) || 0) - (parseFloat(styles.paddingBottom) || 0);
    const pip = others === 1 && !!self && W >= H;
    grid.classList.toggle('pip', pip);
    const n = pip ? 1 : others + (self ? 1 : 0);
    if (n === 0 || W <= 0 || H <= 0) return;
    const aspect = tileAspect();
    let best = { area: -1, cols: 1, w: W, h: H };
    for (let cols = 1; cols <= n; cols++) {
        const rows = Math.ceil(n / cols);
        const cellW = (W - gap * (cols - 1)) / cols;
        const cellH = (H - gap * (rows - 1)) / rows;
        const w = Math.min(cellW, cellH * aspect);
        const h = w / aspect;
        if (w * h > best.area) best = { area: w * h, cols, w, h };
    }
    grid.style.setProperty('--tile-w', `${Math.floor(best.w)}px`);
    grid.style.setProperty('--tile-h', `${Math.floor(best.h)}px`);
    grid.style.setProperty('--cols', String(best.cols));
    for (const tile of allTiles()) fitVideo(tile);
    if (pip) keepNamesClear();
    else for (const tile of remote.values()) tile.el.style.removeProperty('--label-max');
}

function allTiles() {
    return self ? [self, ...remote.values()] : [...remote.values()];
}

// tileAspect is the shape of the tiles: that of most of the others'
// videos, else of the self-view, else 16:9.
function tileAspect() {
    const counts = new Map();
    for (const tile of remote.values()) {
        const a = tile.aspect();
        if (a) counts.set(a.toFixed(2), (counts.get(a.toFixed(2)) || 0) + 1);
    }
    let best = '';
    for (const [a, c] of counts) if (!best || c > counts.get(best)) best = a;
    if (best) return Number(best);
    return (self && self.aspect()) || 16 / 9;
}

// fitVideo shows a tile's video filling the tile, unless that would crop
// more than MAX_CROP of it; then the video is shown whole.
function fitVideo(tile) {
    const a = tile.aspect();
    const r = tile.el.getBoundingClientRect();
    const crop = a && r.width && r.height ? Math.max(a / (r.width / r.height), (r.width / r.height) / a) : 1;
    tile.el.classList.toggle('fit-whole', crop > MAX_CROP);
}

// keepNamesClear shortens the name labels that the floating self-view
// would otherwise cover.
function keepNamesClear() {
    const pipRect = self.el.getBoundingClientRect();
    for (const tile of remote.values()) {
        tile.el.style.removeProperty('--label-max');
        const r = tile.el.querySelector('.tile-label').getBoundingClientRect();
        const overlaps = r.left < pipRect.right && pipRect.left < r.right && r.top < pipRect.bottom && pipRect.top < r.bottom;
        if (overlaps) tile.el.style.setProperty('--label-max', `${Math.max(48, Math.floor(pipRect.left - 8 - r.left))}px`);
    }
}
