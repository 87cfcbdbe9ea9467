// protocol.js — parley's browser protocol library.
//
// It talks to the server and nothing else: the HTTP join step, the
// signaling WebSocket, and the RTCPeerConnection. It never touches the DOM;
// app.js draws the page from the events this module dispatches.
// docs/protocol.md describes the wire protocol.
//
// Negotiation rule: on the main connection the server always offers and
// the client answers; on the publisher connection of version 2, which
// carries what the client sends (publisher.js), the client always offers.

import { backoffDelay } from './backoff.js';
import { Publisher } from './publisher.js';

/** The signaling protocol version this client speaks. */
export const PROTOCOL_VERSION = 2;

/** Interval between application-level pings, in milliseconds. */
export const PING_INTERVAL_MS = 10000;

/**
 * A WebSocket that has carried nothing for PONG_TIMEOUT_MS since a ping
 * went out (no pong, no other message) is taken for dead, though no
 * close event came (a network that drops packets silently): the client
 * drops it and resumes, as after a close.
 */
export const PONG_TIMEOUT_MS = 10000;

/**
 * RESUME is how the client takes its place back after the WebSocket
 * dropped (docs/protocol.md, "Resume after a dropped connection"): it tries
 * again with backoff (backoff.js) until giveUpMs, which stays inside the
 * server's 30 s grace period; an attempt that has no answer after
 * attemptMs is abandoned. A media connection that stays "disconnected"
 * for disconnectedMs while the WebSocket is up is resumed too, at most
 * mediaTries times in a row before it counts as failed.
 */
export const RESUME = {
    giveUpMs: 25000,
    attemptMs: 5000,
    disconnectedMs: 4000,
    mediaTries: 3,
};

/** Error codes after which the server closes the connection. */
export const FATAL_CODES = new Set([
    'too-large', 'bad-version', 'bad-token', 'token-expired', 'room-not-found', 'join-timeout',
    'offer-timeout', 'too-slow', 'too-many-streams', 'call-locked', 'meeting-not-open', 'meeting-over',
]);

/** The moderation messages a host may send (docs/protocol.md, Moderation). */
export const MODERATION = new Set(['end-call', 'remove', 'mute-participant', 'mute-all', 'lock', 'unlock', 'set-host']);

/**
 * webrtcMissing says why this browser cannot make calls: "" when it can,
 * else a short reason (no RTCPeerConnection, WebRTC disabled, no camera
 * API). A page served over plain http is not "missing": its browser can
 * still watch and listen, only not send (window.isSecureContext).
 */
export function webrtcMissing() {
    const PC = globalThis.RTCPeerConnection;
    if (typeof PC !== 'function') return 'it has no WebRTC (RTCPeerConnection is missing or turned off)';
    try {
        new PC().close();
    } catch (e) {
        return `WebRTC is turned off (${e && e.name || e})`;
    }
    const md = globalThis.navigator && globalThis.navigator.mediaDevices;
    if (globalThis.isSecureContext !== false && !(md && typeof md.getUserMedia === 'function')) {
        return 'it cannot use a camera or microphone (navigator.mediaDevices.getUserMedia is missing)';
    }
    return '';
}

/**
 * ParleyError is thrown by the HTTP join step and by join() when the server
 * refuses. code is the server's stable error code ("room-not-found",
 * "rate-limited", ...) or "network" when the server could not be reached.
 */
export class ParleyError extends Error {
    constructor(code, message, status = 0) {
        super(message || code);
        this.name = 'ParleyError';
        this.code = code;
        this.status = status;
    }
}

/**
 * requestJoin asks the server for a join token for a room link
 * (POST /api/v1/join). It resolves to
 * {token, expiresAt: Date, room: {id, name}, wsPath}.
 */
export async function requestJoin(link, { baseURL = defaultBaseURL() } = {}) {
    let res;
    try {
        res = await fetch(new URL('/api/v1/join', baseURL), {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ link }),
            credentials: 'same-origin',
            cache: 'no-store',
        });
    } catch (e) {
        throw new ParleyError('network', 'The server could not be reached.');
    }
    let body = null;
    try {
        body = await res.json();
    } catch (e) {
        // Handled below: a body that is not JSON is an internal error.
    }
    if (!res.ok) {
        const err = body && body.error;
        throw new ParleyError(
            (err && err.code) || codeForStatus(res.status),
            (err && err.message) || `The server answered ${res.status}.`,
            res.status);
    }
    if (!body || typeof body.token !== 'string' || !body.room) {
        throw new ParleyError('internal', 'The server sent an unexpected answer.', res.status);
    }
    return {
        token: body.token,
        expiresAt: body.expiresAt ? new Date(body.expiresAt) : null,
        room: { id: String(body.room.id || ''), name: String(body.room.name || '') },
        wsPath: body.wsPath || '/ws',
    };
}

function codeForStatus(status) {
    switch (status) {
    case 400: return 'bad-request';
    case 404: return 'room-not-found';
    case 429: return 'rate-limited';
    default: return 'internal';
    }
}

function defaultBaseURL() {
    return globalThis.location ? globalThis.location.href : 'http://localhost/';
}

/** iceUfrag is the first a=ice-ufrag of an SDP, or "". */
function iceUfrag(sdp) {
    const m = /a=ice-ufrag:(\S+)/.exec(sdp || '');
    return m ? m[1] : '';
}

/** wsURL turns a path on the HTTP origin into a ws: or wss: URL. */
export function wsURL(path, baseURL = defaultBaseURL()) {
    const u = new URL(path, baseURL);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    u.hash = '';
    return u.href;
}

/**
 * ParleyClient is one participant's session in one call. It is single-use:
 * after it closes, make a new one to rejoin. A WebSocket that drops
 * without bye or a closing error does not close it: it resumes on a new
 * WebSocket with the same RTCPeerConnection, participant id and tracks
 * (events "resuming", then "resumed"); only a resume that fails or gives
 * up closes it, with error code "resume-failed" (or "rate-limited", or
 * "network"), after which a new client must join afresh.
 *
 * join rejects with code "no-webrtc" (before it connects) in a browser
 * that cannot make calls; see webrtcMissing.
 *
 * Events (all CustomEvents; the payload is in event.detail):
 *   joined               {participantId, role, room, participants, call}
 *   resuming             {attempt}  the WebSocket dropped; attempt n of
 *                        taking the place back has started
 *   resumed              {participantId, role, self, room, participants, call}
 *                        back in the call: participants replaces the list
 *   participant-joined   {participant}
 *   participant-updated  {participant}
 *   participant-left     {participantId, reason}
 *   track                {participantId, track, streams, transceiver}
 *   connectionstate      {state}  one of "connecting", "connected",
 *                        "reconnecting", "failed", "closed"
 *   error                {code, message, ref, fatal}
 *   bye                  {reason}
 *   closed               {code, reason, expected, bye, error}
 *   pong                 {id, rtt}
 *   call-updated         {call}  the call's state changed (locked, endsAt);
 *                        joined and resumed carry it too
 *   call-warning         {endsAt: Date or null, reason}  the call ends soon
 *   role                 {role}  our own role changed (set-host)
 *   layer-refused        {code, message}  the server refused a setLayer
 *                        (the camera has no such layer, or is not sent to us)
 *
 * A participant is {id, name, role, audioMuted, videoMuted,
 * audioMutedByHost, connection ("connected" or "reconnecting")}. The call
 * is {locked, endsAt?, endReason?}.
 */
export class ParleyClient extends EventTarget {
    /**
     * @param {object} opts
     * @param {string} opts.link      the room link id (the {link} of /r/{link})
     * @param {string} [opts.baseURL] the server's URL; the page's by default
     */
    constructor({ link, baseURL = defaultBaseURL() }) {
        super();
        this.link = link;
        this.baseURL = baseURL;

        this.ticket = null;          // the latest requestJoin answer
        this.room = null;            // {id, name}
        this.participantId = null;   // ours, from joined
        this.role = '';              // ours, from joined or resumed
        this.call = {};              // the call's state {locked, endsAt?, endReason?}, from joined, resumed or call-updated
        this.self = null;            // our own participant record, from resumed or participant-updated
        this.resumeToken = null;     // the latest, from joined or resumed; single use
        this.participants = new Map(); // id -> participant, everyone else
        this.state = 'new';
        this.localStream = null;
        this.audioMuted = false;
        this.videoMuted = false;
        this.rtt = null;             // milliseconds, from the last pong

        this._ws = null;
        this._pc = null;
        this._tracks = { audio: null, video: null };
        this._senders = { audio: null, video: null }; // our publishing transceivers' senders
        this._encodings = null;      // the camera's simulcast encodings, from join
        this._publisher = null;      // the publisher connection (publisher.js), once joined
        this._publishMids = new Set();
        this._pendingCandidates = [];
        this._chain = Promise.resolve(); // serialises offers and candidates
        this._pingTimer = null;
        this._pingSeq = 0;
        this._pingsSent = new Map();
        this._pongTimer = null;      // the keepalive deadline of the current WebSocket
        this._heardAt = 0;           // when the current WebSocket last carried a message (ms)
        this._joinedWaiter = null;
        this._leaving = false;
        this._bye = null;
        this._fatal = null;
        this._closed = false;
        this._wsPath = null;         // the WebSocket path joined on; resumes use it too
        // _resume is the resume under way, or null:
        // {attempt, started (ms), timer (next attempt or attempt timeout)}.
        this._resume = null;
        this._disconnectedTimer = null; // a media connection "disconnected" while the WebSocket is up
        this._mediaResumes = 0;      // resumes in a row for the media's sake, reset once it connects
        // _restartPending: resumed, and the ICE-restart offer not yet
        // answered; a media connection still "failed" meanwhile is waited out.
        this._restartPending = false;
    }

    /**
     * prepare fetches a join token ahead of time, so the page can show the
     * room's name (and learn that a link is bad) before the user joins.
     * It resolves to the room {id, name}.
     */
    async prepare() {
        this.ticket = await requestJoin(this.link, { baseURL: this.baseURL });
        this.room = this.ticket.room;
        return this.room;
    }

    /**
     * join connects and joins the call. It resolves with the joined payload
     * once the server accepts, and rejects with a ParleyError otherwise.
     *
     * @param {object} opts
     * @param {string} opts.name             display name
     * @param {MediaStream} [opts.stream]    local microphone and/or camera
     * @param {boolean} [opts.audioMuted]    join with the microphone muted
     * @param {boolean} [opts.videoMuted]    join with the camera off
     * @param {RTCRtpEncodingParameters[]} [opts.encodings] the camera's
     *        simulcast encodings, lowest first (rids); one layer without
     */
    async join({ name, stream = null, audioMuted = false, videoMuted = false, encodings = null }) {
        if (this._ws) throw new Error('ParleyClient.join called twice');
        // Never join half-way: without WebRTC the others would see a
        // silent tile that never plays.
        const missing = webrtcMissing();
        if (missing) {
            const e = new ParleyError('no-webrtc', `This browser cannot make video calls: ${missing}.`);
            this._finish({ code: 0, reason: '', error: e });
            throw e;
        }
        this.localStream = stream;
        this._encodings = encodings;
        this._tracks.audio = stream ? stream.getAudioTracks()[0] || null : null;
        this._tracks.video = stream ? stream.getVideoTracks()[0] || null : null;
        this.audioMuted = !!audioMuted || !this._tracks.audio;
        this.videoMuted = !!videoMuted || !this._tracks.video;
        if (this._tracks.audio) this._tracks.audio.enabled = !this.audioMuted;
        if (this._tracks.video) this._tracks.video.enabled = !this.videoMuted;

        this._setState('connecting');
        // Reuse the prepared token unless it is about to expire.
        const t = this.ticket;
        if (!t || (t.expiresAt && t.expiresAt.getTime() - Date.now() < 30000)) {
            try {
                await this.prepare();
            } catch (e) {
                this._finish({ code: 0, reason: '', error: e });
                throw e;
            }
        }
        if (this._closed) throw new ParleyError('closed', 'The call was closed.');

        const joined = new Promise((resolve, reject) => {
            this._joinedWaiter = { resolve, reject };
        });
        this._wsPath = this.ticket.wsPath;
        this._openSocket({
            type: 'join',
            version: PROTOCOL_VERSION,
            token: this.ticket.token,
            name,
            publish: { audio: !!this._tracks.audio, video: !!this._tracks.video },
        });
        return joined;
    }

    /** _openSocket opens the WebSocket and sends first as its first message. */
    _openSocket(first) {
        const ws = new WebSocket(wsURL(this._wsPath, this.baseURL));
        this._ws = ws;
        ws.onopen = () => this._send(first);
        ws.onmessage = (ev) => {
            this._heardAt = Date.now();
            this._onMessage(ev.data);
        };
        ws.onerror = () => { /* onclose follows and reports */ };
        ws.onclose = (ev) => this._onSocketClose(ws, ev);
    }

    /**
     * _onSocketClose: a joined participant whose WebSocket closed without
     * bye or a closing error resumes; anything else ends the client.
     */
    _onSocketClose(ws, ev) {
        if (this._closed || ws !== this._ws) return;
        clearTimeout(this._pongTimer);
        this._pongTimer = null;
        const announced = this._leaving || this._bye !== null || this._fatal !== null;
        if (!announced && this.resumeToken && this._pc) {
            this._detachSocket();
            if (this._resume) this._retryResume();
            else this._startResume();
            return;
        }
        this._finish({ code: ev.code, reason: ev.reason });
    }

    /** _detachSocket forgets the current WebSocket (and closes it, without leave). */
    _detachSocket() {
        const ws = this._ws;
        this._ws = null;
        clearTimeout(this._pongTimer);
        this._pongTimer = null;
        if (!ws) return;
        ws.onopen = ws.onmessage = ws.onclose = null;
        try { ws.close(4000, 'resuming'); } catch (e) { /* already closing */ }
    }

    // ---- resuming after a dropped connection ----

    /** _startResume begins taking the place back on a new WebSocket. */
    _startResume() {
        clearTimeout(this._disconnectedTimer);
        this._disconnectedTimer = null;
        this._resume = { attempt: 0, started: Date.now(), timer: null };
        this._restartPending = false;
        this._setState('reconnecting');
        this._resumeAttempt();
    }

    _resumeAttempt() {
        const r = this._resume;
        if (!r || this._closed) return;
        r.attempt++;
        this._emit('resuming', { attempt: r.attempt });
        this._openSocket({
            type: 'resume',
            version: PROTOCOL_VERSION,
            participantId: this.participantId,
            token: this.resumeToken,
        });
        // A WebSocket that opens but never answers (a network that drops
        // packets) is given up on too.
        const ws = this._ws;
        r.timer = setTimeout(() => {
            if (this._ws !== ws || this._resume !== r) return;
            this._detachSocket();
            this._retryResume();
        }, RESUME.attemptMs);
    }

    /** _retryResume schedules the next attempt, or gives up. */
    _retryResume() {
        const r = this._resume;
        if (!r) return;
        clearTimeout(r.timer);
        const wait = backoffDelay(r.attempt);
        if (Date.now() + wait - r.started >= RESUME.giveUpMs) {
            this._finish({ code: 0, reason: '', error: new ParleyError('network', 'Could not resume the call in time.') });
            return;
        }
        r.timer = setTimeout(() => this._resumeAttempt(), wait);
    }

    /**
     * _resumeOnNewSocket drops a WebSocket that is still up (without
     * leave) and resumes on a new one, which restarts ICE: the way to mend
     * a media connection in protocol version 1.
     */
    _resumeOnNewSocket() {
        if (this._closed || this._resume) return;
        if (!this.resumeToken || ++this._mediaResumes > RESUME.mediaTries) {
            this._setState('failed');
            return;
        }
        this._detachSocket();
        this._startResume();
    }

    /**
     * setMuted mutes or unmutes the microphone and/or camera (by disabling
     * the track; no renegotiation) and tells the server. Omitted fields keep
     * their value.
     */
    setMuted({ audio = this.audioMuted, video = this.videoMuted } = {}) {
        this.audioMuted = !!audio || !this._tracks.audio;
        this.videoMuted = !!video || !this._tracks.video;
        if (this._tracks.audio) this._tracks.audio.enabled = !this.audioMuted;
        if (this._tracks.video) this._tracks.video.enabled = !this.videoMuted;
        if (this.participantId) {
            this._send({ type: 'mute', audioMuted: this.audioMuted, videoMuted: this.videoMuted });
        }
    }

    /**
     * moderate sends a host's moderation message: type is one of MODERATION,
     * participantId the one it is about (remove, mute-participant,
     * set-host). It reports whether the message went out; the server
     * answers with the change, seen by everyone, or an "error" event
     * whose ref is type (not-host, unknown-participant, ...).
     */
    moderate(type, participantId = '') {
        if (!MODERATION.has(type)) throw new Error(`parley: not a moderation message: ${type}`);
        const msg = { type };
        if (participantId) msg.participantId = participantId;
        return this._send(msg);
    }

    /**
     * claimHost sends a booked meeting's host key (claim-host,
     * docs/protocol.md). The right key makes us a host (the "role" event);
     * a refusal comes as an "error" event whose ref is "claim-host"
     * (wrong-host-key, rate-limited with retryAfter, no-host-key). It
     * reports whether the message went out.
     */
    claimHost(key) {
        return this._send({ type: 'claim-host', key: String(key) });
    }

    /**
     * replaceTrack swaps the local microphone or camera (e.g. after a device
     * change) without renegotiation. kind is "audio" or "video". The new
     * track inherits the current mute state. It cannot add a kind that was
     * not published at join time.
     */
    async replaceTrack(kind, track) {
        if (!this._tracks[kind]) throw new Error(`not publishing ${kind}`);
        const old = this._tracks[kind];
        track.enabled = !(kind === 'audio' ? this.audioMuted : this.videoMuted);
        this._tracks[kind] = track;
        if (this.localStream && old !== track) {
            this.localStream.removeTrack(old);
            this.localStream.addTrack(track);
        }
        const sender = this._senders[kind];
        if (sender) await sender.replaceTrack(track);
    }

    /** leave says goodbye to the server and closes the connection. */
    async leave() {
        if (this._closed) return;
        this._leaving = true;
        // While resuming there is no session to leave: the server ends the
        // place when its grace period passes.
        if (!this._resume && this._ws && this._ws.readyState === WebSocket.OPEN) {
            this._send({ type: 'leave' });
            // The server closes with 1000; don't wait long for it.
            await new Promise((resolve) => {
                const timer = setTimeout(resolve, 1000);
                this.addEventListener('closed', () => { clearTimeout(timer); resolve(); }, { once: true });
            });
        }
        this.close();
    }

    /** close drops the connection at once, without saying goodbye. */
    close() {
        if (this._closed) return;
        this._leaving = true;
        if (this._ws) {
            try { this._ws.close(1000); } catch (e) { /* already closing */ }
        }
        this._finish({ code: 1000, reason: 'closed by client' });
    }

    // ---- incoming messages: one function per type ----

    _onMessage(data) {
        let msg;
        try {
            msg = JSON.parse(data);
        } catch (e) {
            console.warn('parley: ignoring malformed message', e);
            return;
        }
        if (!msg || typeof msg !== 'object') return;
        const handler = this._handlers[msg.type];
        if (handler) {
            handler.call(this, msg);
        } else {
            console.warn('parley: ignoring unknown message type', msg.type);
        }
    }

    get _handlers() {
        return {
            'joined': this._onJoined,
            'resumed': this._onResumed,
            'call-updated': this._onCallUpdated,
            'call-warning': this._onCallWarning,
            'offer': this._onOffer,
            'candidate': this._onCandidate,
            'participant-joined': this._onParticipantJoined,
            'participant-updated': this._onParticipantUpdated,
            'participant-left': this._onParticipantLeft,
            'pong': this._onPong,
            'error': this._onError,
            'bye': this._onBye,
            'publish-answer': (msg) => { if (this._publisher) this._publisher.onAnswer(msg); },
        };
    }

    _onJoined(msg) {
        this.participantId = msg.participantId;
        this.role = msg.role || '';
        this.call = msg.call || {};
        this.resumeToken = msg.resumeToken || null;
        if (msg.room) this.room = msg.room;
        this.participants.clear();
        for (const p of msg.participants || []) this.participants.set(p.id, p);
        try {
            // The publisher connection first, so that the main one is the
            // page's latest RTCPeerConnection, as in version 1.
            this._publish(msg.iceServers || []);
            this._createPeerConnection(msg.iceServers || []);
        } catch (e) {
            // WebRTC turned off after the check in join: leave at once
            // rather than stay in the call as a silent participant.
            this._send({ type: 'leave' });
            this._leaving = true;
            try { this._ws.close(1000); } catch (e2) { /* already closing */ }
            this._finish({ code: 1000, reason: 'no WebRTC', error: new ParleyError('no-webrtc', `This browser cannot make video calls (${e && e.name || e}).`) });
            return;
        }
        this._pingTimer = setInterval(() => this._ping(), PING_INTERVAL_MS);
        this._ping();
        if (this.audioMuted || this.videoMuted) {
            this._send({ type: 'mute', audioMuted: this.audioMuted, videoMuted: this.videoMuted });
        }
        const detail = {
            participantId: this.participantId,
            role: this.role,
            room: this.room,
            participants: [...this.participants.values()],
            call: this.call,
        };
        this._emit('joined', detail);
        if (this._joinedWaiter) {
            this._joinedWaiter.resolve(detail);
            this._joinedWaiter = null;
        }
    }

    _onResumed(msg) {
        const r = this._resume;
        if (!r) return; // not asked for
        clearTimeout(r.timer);
        this._resume = null;
        this.resumeToken = msg.resumeToken || null;
        if (msg.role) this.role = msg.role;
        if (msg.call) this.call = msg.call;
        if (msg.room) this.room = msg.room;
        this.participants.clear();
        for (const p of msg.participants || []) this.participants.set(p.id, p);
        const self = msg.self || {};
        if (msg.self) this.self = msg.self;
        // Mute changes made while the connection was down never reached
        // the server: tell it how things are now.
        if (!!self.audioMuted !== this.audioMuted || !!self.videoMuted !== this.videoMuted) {
            this._send({ type: 'mute', audioMuted: this.audioMuted, videoMuted: this.videoMuted });
        }
        this._emit('resumed', {
            participantId: this.participantId,
            role: this.role,
            self,
            room: this.room,
            participants: [...this.participants.values()],
            call: this.call,
        });
        // The ICE-restart offer follows; until it is answered a failed
        // media connection stays failed, and is not a reason to resume again.
        this._restartPending = true;
        this._onPeerState();
        if (this._publisher) this._publisher.offer({ iceRestart: true });
    }

    _onCallUpdated(msg) {
        if (msg.call) this.call = msg.call;
        this._emit('call-updated', { call: this.call });
    }

    _onCallWarning(msg) {
        const endsAt = msg.endsAt ? new Date(msg.endsAt) : null;
        this._emit('call-warning', { endsAt: endsAt && !isNaN(endsAt) ? endsAt : null, reason: msg.reason || '' });
    }

    _onOffer(msg) {
        this._enqueue(() => this._handleOffer(msg));
    }

    async _handleOffer(msg) {
        const pc = this._pc;
        if (!pc) return;
        // After a resume the server may first send again an offer left
        // unanswered, then the one that restarts ICE (a new ufrag).
        const restart = this._restartPending && iceUfrag(msg.sdp) !== iceUfrag(pc.remoteDescription && pc.remoteDescription.sdp);
        await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
        await this._flushCandidates();
        const publish = msg.publish || {};
        for (const kind of ['audio', 'video']) {
            const mid = publish[kind];
            if (!mid || this._publishMids.has(mid)) continue;
            const tr = pc.getTransceivers().find((t) => t.mid === mid);
            if (!tr) {
                console.warn(`parley: offer names ${kind} mid ${mid}, which is not in the SDP`);
                continue;
            }
            this._publishMids.add(mid);
            const track = this._tracks[kind];
            if (!track) continue;
            tr.direction = 'sendonly';
            await tr.sender.replaceTrack(track);
            if (typeof tr.sender.setStreams === 'function' && this.localStream) {
                tr.sender.setStreams(this.localStream);
            }
            this._senders[kind] = tr.sender;
        }
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        this._send({ type: 'answer', sdp: pc.localDescription.sdp });
        if (restart && this._restartPending && !this._resume) {
            this._restartPending = false;
            this._onPeerState();
        }
        // With no media to carry there is no ICE to wait for: the WebSocket
        // alone is the connection.
        if (pc.getTransceivers().length === 0 && this.state === 'connecting') this._setState('connected');
    }

    _onCandidate(msg) {
        const c = msg.candidate;
        if (!c || typeof c.candidate !== 'string') return;
        const init = { candidate: c.candidate };
        if (c.sdpMid != null) init.sdpMid = c.sdpMid;
        if (c.sdpMLineIndex != null) init.sdpMLineIndex = c.sdpMLineIndex;
        if (c.usernameFragment != null) init.usernameFragment = c.usernameFragment;
        if (init.sdpMid == null && init.sdpMLineIndex == null) init.sdpMLineIndex = 0;
        this._enqueue(async () => {
            if (!this._pc || !this._pc.remoteDescription) {
                this._pendingCandidates.push(init);
                return;
            }
            await this._addCandidate(init);
        });
    }

    async _flushCandidates() {
        const queued = this._pendingCandidates;
        this._pendingCandidates = [];
        for (const init of queued) await this._addCandidate(init);
    }

    async _addCandidate(init) {
        try {
            await this._pc.addIceCandidate(init);
        } catch (e) {
            console.warn('parley: remote candidate refused', init.candidate, e);
        }
    }

    _onParticipantJoined(msg) {
        const p = msg.participant;
        if (!p || !p.id || p.id === this.participantId) return;
        this.participants.set(p.id, p);
        this._emit('participant-joined', { participant: p });
    }

    _onParticipantUpdated(msg) {
        const p = msg.participant;
        if (!p || !p.id) return;
        if (p.id !== this.participantId) {
            this.participants.set(p.id, p);
        } else {
            this.self = p;
            if (p.role && p.role !== this.role) {
                this.role = p.role;
                this._emit('role', { role: p.role });
            }
        }
        this._emit('participant-updated', { participant: p });
    }

    _onParticipantLeft(msg) {
        if (!msg.participantId) return;
        this.participants.delete(msg.participantId);
        this._emit('participant-left', { participantId: msg.participantId, reason: msg.reason || '' });
    }

    _onPong(msg) {
        clearTimeout(this._pongTimer);
        this._pongTimer = null;
        const sent = this._pingsSent.get(msg.id);
        this._pingsSent.delete(msg.id);
        if (sent !== undefined) this.rtt = Date.now() - sent;
        this._emit('pong', { id: msg.id, rtt: this.rtt });
    }

    _onError(msg) {
        if (this._resume && msg.ref === 'resume') {
            // The place is gone (or this address guessed too often): the
            // caller joins afresh with a new client.
            const code = msg.code === 'rate-limited' ? 'rate-limited' : 'resume-failed';
            this._fatal = { code, message: msg.message || '', ref: 'resume', fatal: true };
            this._resume = (clearTimeout(this._resume.timer), null);
            this._leaving = true;
            this._detachSocket();
            this._finish({ code: 0, reason: code });
            return;
        }
        if (msg.ref === 'set-layer') {
            // A layer the camera does not have: nothing the user can do.
            this._emit('layer-refused', { code: msg.code || '', message: msg.message || '' });
            return;
        }
        const fatal = FATAL_CODES.has(msg.code);
        const detail = { code: msg.code || 'internal', message: msg.message || '', ref: msg.ref || '', fatal };
        if (msg.retryAfter) detail.retryAfter = Number(msg.retryAfter) || 0; // seconds (rate-limited)
        if (msg.retryAt) detail.retryAt = msg.retryAt;
        if (fatal) this._fatal = detail;
        this._emit('error', detail);
        if (this._joinedWaiter && (fatal || msg.ref === 'join')) {
            this._joinedWaiter.reject(new ParleyError(detail.code, detail.message));
            this._joinedWaiter = null;
        }
    }

    _onBye(msg) {
        this._bye = msg.reason || '';
        this._emit('bye', { reason: this._bye });
    }

    // ---- the peer connection ----

    /**
     * _publish starts the publisher connection (protocol version 2) with
     * the local tracks and offers it; a client that sends nothing has none.
     */
    _publish(iceServers) {
        if (!this._tracks.audio && !this._tracks.video) return;
        this._publisher = new Publisher({
            iceServers,
            send: (m) => this._send(m),
            stream: this.localStream,
            tracks: this._tracks,
            encodings: this._encodings,
            onState: () => this._onPeerState(),
        });
        this._senders = this._publisher.senders;
        this._publisher.offer().catch((e) => {
            console.error('parley: publishing failed', e);
            this._emit('error', { code: 'negotiation', message: String(e && e.message || e), ref: 'publish-offer', fatal: false });
        });
    }

    /**
     * setLayer asks to receive participantId's camera from the simulcast
     * layer rid ("q", "h" or "f", lowest first). A refusal comes back as
     * the event layer-refused.
     */
    setLayer(participantId, rid) {
        return this._send({ type: 'set-layer', participantId, layer: rid });
    }

    _createPeerConnection(iceServers) {
        // Default bundle policy. The server bundles every m-line and never
        // sends an empty offer (docs/protocol.md), so max-bundle would work
        // too; the default also copes with older servers that did.
        const pc = new RTCPeerConnection({ iceServers });
        this._pc = pc;
        pc.onicecandidate = (ev) => {
            if (!ev.candidate || !ev.candidate.candidate) return; // end of candidates
            const c = ev.candidate;
            const out = { candidate: c.candidate };
            if (c.sdpMid != null) out.sdpMid = c.sdpMid;
            if (c.sdpMLineIndex != null) out.sdpMLineIndex = c.sdpMLineIndex;
            if (c.usernameFragment != null) out.usernameFragment = c.usernameFragment;
            this._send({ type: 'candidate', candidate: out });
        };
        pc.ontrack = (ev) => {
            const tr = ev.transceiver;
            if (tr && tr.mid && this._publishMids.has(tr.mid)) return; // our own send-only m-line
            const streams = [...ev.streams];
            const participantId = streams.length ? streams[0].id : null;
            this._emit('track', { participantId, track: ev.track, streams, transceiver: tr || null });
        };
        const onState = () => this._onPeerState();
        pc.onconnectionstatechange = onState;
        pc.oniceconnectionstatechange = onState;
    }

    _onPeerState() {
        const pc = this._pc;
        if (!pc || this._closed) return;
        // connectionState where supported, iceConnectionState otherwise;
        // the publisher connection's trouble is the call's too, but for
        // while its ICE restart is not yet answered.
        let s = pc.connectionState || pc.iceConnectionState;
        const ps = this._publisher && !this._publisher.restarting ? this._publisher.state : '';
        if ((ps === 'failed' || ps === 'disconnected') && (s === 'connected' || s === 'completed')) s = ps;
        if (s !== 'disconnected') {
            clearTimeout(this._disconnectedTimer);
            this._disconnectedTimer = null;
        }
        if (this._resume) return; // "reconnecting" until resumed
        if (this._restartPending && (s === 'failed' || s === 'disconnected')) {
            this._setState('reconnecting'); // until the ICE restart
            return;
        }
        switch (s) {
        case 'connected':
        case 'completed':
            this._mediaResumes = 0;
            this._setState('connected');
            break;
        case 'disconnected':
            this._setState('reconnecting');
            // It may come back by itself; if not, a resume restarts ICE.
            if (!this._disconnectedTimer) {
                this._disconnectedTimer = setTimeout(() => {
                    this._disconnectedTimer = null;
                    const now = this._pc && (this._pc.connectionState || this._pc.iceConnectionState);
                    if (now === 'disconnected') this._resumeOnNewSocket();
                }, RESUME.disconnectedMs);
            }
            break;
        case 'failed':
            this._resumeOnNewSocket(); // or "failed", after RESUME.mediaTries
            break;
        default:
            if (this.state !== 'connected' && this.state !== 'reconnecting') this._setState('connecting');
        }
    }

    // ---- plumbing ----

    _enqueue(fn) {
        this._chain = this._chain.then(fn).catch((e) => {
            console.error('parley: negotiation failed', e);
            this._emit('error', { code: 'negotiation', message: String(e && e.message || e), ref: '', fatal: false });
        });
    }

    _ping() {
        const id = String(++this._pingSeq);
        const sentAt = Date.now();
        if (!this._send({ type: 'ping', id })) return;
        this._pingsSent.set(id, sentAt);
        if (this._pingsSent.size > 10) this._pingsSent.delete(this._pingsSent.keys().next().value);
        if (this._pongTimer) return; // an earlier ping's deadline runs
        const ws = this._ws;
        this._pongTimer = setTimeout(() => {
            this._pongTimer = null;
            // Any message since the ping shows the socket alive (a pong
            // may wait behind a large offer).
            if (this._ws !== ws || this._closed || this._heardAt >= sentAt) return;
            console.warn(`parley: no answer on the WebSocket for ${PONG_TIMEOUT_MS} ms: taking it for dead`);
            this._onSocketClose(ws, { code: 1006, reason: 'keepalive timeout' });
        }, PONG_TIMEOUT_MS);
    }

    _send(msg) {
        const ws = this._ws;
        if (!ws || ws.readyState !== WebSocket.OPEN) return false;
        // Until resumed, the new WebSocket carries only the resume: the
        // server has no session on it for anything else.
        if (this._resume && msg.type !== 'resume') return false;
        ws.send(JSON.stringify(msg));
        return true;
    }

    _setState(state) {
        if (this.state === state) return;
        this.state = state;
        this._emit('connectionstate', { state });
    }

    _finish({ code, reason, error = null }) {
        if (this._closed) return;
        this._closed = true;
        clearInterval(this._pingTimer);
        this._pingTimer = null;
        clearTimeout(this._pongTimer);
        clearTimeout(this._disconnectedTimer);
        if (this._resume) clearTimeout(this._resume.timer);
        this._resume = null;
        if (this._pc) {
            this._pc.close();
        }
        if (this._publisher) this._publisher.close();
        if (this._ws) {
            this._ws.onopen = this._ws.onmessage = this._ws.onclose = null;
        }
        const expected = this._leaving || this._bye !== null || this._fatal !== null || error !== null;
        if (this._joinedWaiter) {
            const e = error || (this._fatal && new ParleyError(this._fatal.code, this._fatal.message)) ||
                new ParleyError('network', 'The connection to the server closed before the call was joined.');
            this._joinedWaiter.reject(e);
            this._joinedWaiter = null;
        }
        this._setState('closed');
        this._emit('closed', {
            code, reason, expected,
            bye: this._bye,
            error: this._fatal || (error && { code: error.code, message: error.message }) || null,
        });
    }

    _emit(type, detail) {
        this.dispatchEvent(new CustomEvent(type, { detail }));
    }
}
