// publisher.js — the publisher connection of protocol version 2, part of
// the protocol library (no DOM): the second RTCPeerConnection on which the
// client sends its microphone and camera. Here the client offers and the
// server answers (publish-offer, publish-answer), the opposite of the main
// connection, so that the camera can go as simulcast layers, which the
// server cannot ask for in an offer of its own. docs/protocol.md,
// "Simulcast: the publisher connection (version 2)".

/**
 * Publisher sends tracks on its own RTCPeerConnection.
 *
 * @param {object} opts
 * @param {RTCIceServer[]} opts.iceServers  from joined
 * @param {(msg: object) => boolean} opts.send  sends one message to the server
 * @param {MediaStream|null} opts.stream    the local stream (for the msid)
 * @param {{audio: MediaStreamTrack|null, video: MediaStreamTrack|null}} opts.tracks
 * @param {RTCRtpEncodingParameters[]|null} opts.encodings  the camera's
 *        simulcast encodings, lowest first, or null for one layer
 * @param {(state: string) => void} opts.onState  told the connection's state
 */
export class Publisher {
    constructor({ iceServers, send, stream, tracks, encodings, onState }) {
        this._send = send;
        this._onState = onState;
        this.senders = { audio: null, video: null };
        this.simulcast = false;       // the camera went out with several encodings
        this.restarting = false;      // an ICE-restart offer is out, not yet answered
        this._offered = false;        // a publish-offer has been sent: candidates may follow it
        this._held = [];              // candidates gathered before it
        this._chain = Promise.resolve();
        this._closed = false;
        const pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle' });
        this.pc = pc;
        pc.onicecandidate = (ev) => {
            if (!ev.candidate || !ev.candidate.candidate) return;
            const c = ev.candidate;
            const out = { candidate: c.candidate };
            if (c.sdpMid != null) out.sdpMid = c.sdpMid;
            if (c.sdpMLineIndex != null) out.sdpMLineIndex = c.sdpMLineIndex;
            if (c.usernameFragment != null) out.usernameFragment = c.usernameFragment;
            const msg = { type: 'candidate', candidate: out, target: 'publisher' };
            if (this._offered) this._send(msg);
            else this._held.push(msg);
        };
        pc.onconnectionstatechange = () => this._onState(pc.connectionState);
        const streams = stream ? [stream] : [];
        if (tracks.audio) {
            this.senders.audio = pc.addTransceiver(tracks.audio, { direction: 'sendonly', streams }).sender;
        }
        if (tracks.video) {
            this.senders.video = addCamera(pc, tracks.video, streams, encodings);
            this.simulcast = !!encodings && this.senders.video.getParameters().encodings.length > 1;
        }
    }

    /**
     * offer sends a publish-offer (restarting ICE if iceRestart) and
     * applies the answer when it comes (see onAnswer). Offers are made one
     * at a time.
     */
    offer({ iceRestart = false } = {}) {
        this._chain = this._chain.then(async () => {
            if (this._closed) return;
            if (iceRestart) this.restarting = true;
            const offer = await this.pc.createOffer({ iceRestart });
            await this.pc.setLocalDescription(offer);
            this._send({ type: 'publish-offer', sdp: this.pc.localDescription.sdp });
            this._offered = true;
            for (const msg of this._held.splice(0)) this._send(msg);
        });
        return this._chain;
    }

    /** onAnswer applies the server's publish-answer. */
    onAnswer(msg) {
        this._chain = this._chain.then(async () => {
            if (this._closed || this.pc.signalingState !== 'have-local-offer') return;
            await this.pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
            if (this.restarting) {
                this.restarting = false;
                this._onState(this.state);
            }
        });
        return this._chain;
    }

    /** state is the connection's state ("new", "connected", "failed", ...). */
    get state() {
        return this.pc.connectionState || this.pc.iceConnectionState;
    }

    close() {
        this._closed = true;
        this.pc.close();
    }
}

// addCamera adds the camera track with the simulcast encodings, falling
// back to one encoding in a browser that refuses them.
function addCamera(pc, track, streams, encodings) {
    if (encodings) {
        try {
            return pc.addTransceiver(track, { direction: 'sendonly', streams, sendEncodings: encodings }).sender;
        } catch (e) {
            console.warn('parley: this browser cannot send simulcast; sending one layer', e);
        }
    }
    return pc.addTransceiver(track, { direction: 'sendonly', streams }).sender;
}
