// presence.js — an endpoint's presence connection (docs/protocol.md,
// "Endpoints and direct calls"): register, the group's endpoints and their
// presence, calling another endpoint and being called. It talks to the
// server and never touches the page; pages/directory.js draws it.

import { PROTOCOL_VERSION, PING_INTERVAL_MS, wsURL } from './protocol.js';
import { backoffDelay } from './backoff.js';

// Codes and bye reasons after which the connection is not opened again:
// the endpoint session is gone (sign in again).
const FINAL_CODES = new Set(['bad-token', 'token-expired', 'bad-version']);
const FINAL_BYES = new Set(['signed-out', 'replaced']);

/** The messages about one ring (each carries {callId, from, to, token?, conference?}). */
export const RING_TYPES = ['ringing', 'incoming-call', 'call-accepted', 'call-declined', 'call-cancelled', 'call-missed'];

/**
 * PresenceClient keeps an endpoint's presence connection open: it
 * registers with the endpoint session cookie (the browser sends it with
 * the WebSocket upgrade), and after a drop it registers again with
 * backoff, until a bye or error says the session is over.
 *
 * Events (CustomEvents; the payload is event.detail):
 *   registered   {me, endpoints}   me the endpoint object; endpoints a Map id → status
 *   presence     {endpoint}        one endpoint's status changed (or it is new)
 *   ringing, incoming-call, call-accepted, call-declined, call-cancelled,
 *   call-missed  {ring}            ring is {callId, from, to, token?, conference?}
 *   error        {code, message, ref}
 *   state        {state}           "connecting", "online", "offline" (retrying), "closed"
 *   closed       {reason}          final: signed out, replaced, or a bad session
 *
 * A status is {id, name, address, kind, online, inCall}.
 */
export class PresenceClient extends EventTarget {
    constructor({ baseURL = globalThis.location ? globalThis.location.href : 'http://localhost/' } = {}) {
        super();
        this.baseURL = baseURL;
        this.me = null;
        this.endpoints = new Map();
        this.state = 'new';
        this._ws = null;
        this._closed = false;
        this._attempt = 0;
        this._retry = null;
        this._ping = null;
    }

    /** connect opens the presence connection (and keeps it open). */
    connect() {
        if (this._closed || this._ws) return;
        this._setState('connecting');
        const ws = new WebSocket(wsURL('/ws', this.baseURL));
        this._ws = ws;
        ws.onopen = () => this._send({ type: 'register', version: PROTOCOL_VERSION });
        ws.onmessage = (ev) => this._onMessage(ev.data);
        ws.onerror = () => { /* onclose follows */ };
        ws.onclose = () => this._onClose(ws);
    }

    /** call rings an endpoint; with callId, into that direct call. */
    call(endpointId, callId = '') {
        const msg = { type: 'call-endpoint', endpointId };
        if (callId) msg.callId = callId;
        return this._send(msg);
    }

    accept(callId) { return this._send({ type: 'accept-call', callId }); }

    decline(callId) { return this._send({ type: 'decline-call', callId }); }

    cancel(callId) { return this._send({ type: 'cancel-call', callId }); }

    /** close ends the presence connection for good. */
    close() {
        this._closed = true;
        clearTimeout(this._retry);
        clearInterval(this._ping);
        const ws = this._ws;
        this._ws = null;
        if (ws) {
            ws.onclose = null;
            try { ws.close(1000); } catch (e) { /* closing */ }
        }
        this._setState('closed');
    }

    _send(msg) {
        const ws = this._ws;
        if (!ws || ws.readyState !== WebSocket.OPEN) return false;
        ws.send(JSON.stringify(msg));
        return true;
    }

    _emit(type, detail) {
        this.dispatchEvent(new CustomEvent(type, { detail }));
    }

    _setState(state) {
        if (this.state === state) return;
        this.state = state;
        this._emit('state', { state });
    }

    _onMessage(data) {
        let msg;
        try { msg = JSON.parse(data); } catch (e) { return; }
        if (!msg || typeof msg.type !== 'string') return;
        switch (msg.type) {
        case 'registered':
            this._attempt = 0;
            this.me = msg.endpoint;
            this.endpoints = new Map((msg.endpoints || []).map((e) => [e.id, e]));
            clearInterval(this._ping);
            this._ping = setInterval(() => this._send({ type: 'ping' }), PING_INTERVAL_MS);
            this._setState('online');
            this._emit('registered', { me: this.me, endpoints: this.endpoints });
            break;
        case 'presence':
            if (msg.endpoint && msg.endpoint.id) {
                this.endpoints.set(msg.endpoint.id, msg.endpoint);
                this._emit('presence', { endpoint: msg.endpoint });
            }
            break;
        case 'error':
            if (FINAL_CODES.has(msg.code)) this._final = msg.code;
            this._emit('error', { code: msg.code, message: msg.message || '', ref: msg.ref || '' });
            break;
        case 'bye':
            if (FINAL_BYES.has(msg.reason)) this._final = msg.reason;
            break;
        default:
            if (RING_TYPES.includes(msg.type)) this._emit(msg.type, { ring: msg });
        }
    }

    _onClose(ws) {
        if (ws !== this._ws) return;
        this._ws = null;
        clearInterval(this._ping);
        if (this._closed) return;
        if (this._final) {
            this._closed = true;
            this._setState('closed');
            this._emit('closed', { reason: this._final });
            return;
        }
        this._setState('offline');
        this._attempt++;
        this._retry = setTimeout(() => this.connect(), backoffDelay(this._attempt));
    }
}
