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
        avatar.textContent = initials(this.local ? this.avatarName : name);
        avatar.style.setProperty('--hue', String(avatarHue(this.local ? this.avatarName : p.id)));
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

/** clearTiles removes every tile, the self-view too. */
export function clearTiles() {
    for (const id of [...remote.keys()]) removeTile(id);
    if (self) {
        self.video.srcObject = null;
        self.el.remove();
        self = null;
    }
    trackOwner.clear();
    layout();
}

/** playAllAudio retries playing every tile's audio (after a click). */
export function playAllAudio() {
    for (const tile of remote.values()) tile.playAudio();
}

/**
 * layout sizes the grid's tiles so they are as large as possible for the
 * space and the number of participants. With one other person the
 * self-view floats in a corner instead.
 */
export function layout() {
    const grid = $('grid');
    const others = remote.size;
    const pip = others === 1 && !!self;
    grid.classList.toggle('pip', pip);
    show($('alone-hint'), others === 0 && !!self && document.body.dataset.screen === 'call');
    $('participant-count').textContent = self ? `${others + 1} ${others === 0 ? 'person' : 'people'}` : '';
    const n = pip ? 1 : others + (self ? 1 : 0);
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
