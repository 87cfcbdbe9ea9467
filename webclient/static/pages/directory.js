// directory.js — direct calls between a group's endpoints, on two pages:
//
//   /endpoint   the signed-in endpoint's page (pages/endpoint.js): the
//               group's endpoints with presence dots and a Call button,
//               the incoming-call dialog with the caller's name and a ring
//               (WebAudio, no sound file), "No answer" / "Declined"
//               notices. Started by this module's own script tag once the
//               page shows its signed-in view (#main-view).
//   /call/{id}  a direct call, in the call page (index.html): directcall.js
//               joins it with the token of call-accepted, and uses
//               usePresence and endpointRows for "Add someone", which
//               rings a third endpoint into the call.
//
// presence.js does the talking (docs/protocol.md, "Endpoints and direct
// calls"); this module only draws. The join token goes from the endpoint
// page to the call page in sessionStorage (never in the URL); it works
// until the call ends.

import { PresenceClient } from '../presence.js';

// The sessionStorage key of the direct call to join: {callId, token, room}.
const TICKET_KEY = 'parley.directCall';

const $ = (id) => document.getElementById(id);

/** el builds an element: el('li', {class: 'x', text: 'hi'}, child, …). */
function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'text') e.textContent = v;
        else if (k === 'class') e.className = v;
        else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
        else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
}

// ---------------------------------------------------------------- the ring

/**
 * ringer plays the ring of an incoming call: two short tones every two
 * seconds, made with WebAudio. A browser may refuse sound before the
 * person has touched the page; document.body.dataset.ring then says
 * "blocked" (else "playing", or absent when silent).
 */
const ringer = {
    ctx: null,
    timer: null,

    start() {
        if (this.timer) return;
        try {
            this.ctx = this.ctx || new AudioContext();
        } catch (e) {
            document.body.dataset.ring = 'blocked';
            return;
        }
        const ctx = this.ctx;
        const burst = () => {
            if (ctx.state !== 'running') {
                ctx.resume().catch(() => {});
                document.body.dataset.ring = 'blocked';
                return;
            }
            document.body.dataset.ring = 'playing';
            const t = ctx.currentTime;
            for (const [i, freq] of [880, 660, 880, 660].entries()) {
                const osc = ctx.createOscillator();
                const gain = ctx.createGain();
                osc.type = 'sine';
                osc.frequency.value = freq;
                const at = t + i * 0.18;
                gain.gain.setValueAtTime(0, at);
                gain.gain.linearRampToValueAtTime(0.2, at + 0.02);
                gain.gain.linearRampToValueAtTime(0, at + 0.16);
                osc.connect(gain).connect(ctx.destination);
                osc.start(at);
                osc.stop(at + 0.17);
            }
        };
        burst();
        this.timer = setInterval(burst, 2000);
    },

    stop() {
        clearInterval(this.timer);
        this.timer = null;
        delete document.body.dataset.ring;
    },
};

// Any touch of the page lets the ring be heard later.
document.addEventListener('pointerdown', () => {
    if (ringer.ctx && ringer.ctx.state !== 'running') ringer.ctx.resume().catch(() => {});
}, { capture: true });

// ---------------------------------------------------------------- shared state

/**
 * dir is this module's state: the presence connection, the ring heard now
 * (incoming), the rings made and not yet ended (outgoing, by callee id),
 * and the page's hooks: notify(text, kind) shows a notice, joinCall(ring)
 * opens an accepted call.
 */
const dir = {
    presence: null,
    incoming: null,
    outgoing: new Map(),
    callId: '', // the direct call this page is in (the call page)
    notify: () => {},
    onChange: () => {},
};

function nameOf(e) {
    return (e && (e.name || e.address)) || 'Someone';
}

function startPresence() {
    if (dir.presence) return dir.presence;
    const p = new PresenceClient();
    dir.presence = p;
    p.addEventListener('registered', () => dir.onChange());
    p.addEventListener('presence', () => dir.onChange());
    p.addEventListener('state', () => dir.onChange());
    p.addEventListener('incoming-call', ({ detail: { ring } }) => showIncoming(ring));
    p.addEventListener('ringing', ({ detail: { ring } }) => {
        dir.outgoing.set(ring.to.id, ring);
        dir.onChange();
    });
    p.addEventListener('call-accepted', ({ detail: { ring } }) => onAccepted(ring));
    p.addEventListener('call-declined', ({ detail: { ring } }) => ringEnded(ring, `${nameOf(ring.to)} declined the call.`, 'The call was declined on another device.'));
    p.addEventListener('call-cancelled', ({ detail: { ring } }) => ringEnded(ring, '', `${nameOf(ring.from)} hung up before you answered.`));
    p.addEventListener('call-missed', ({ detail: { ring } }) => ringEnded(ring, `No answer from ${nameOf(ring.to)}.`, `You missed a call from ${nameOf(ring.from)}.`));
    p.addEventListener('error', ({ detail }) => dir.notify(errorText(detail), 'error'));
    p.addEventListener('closed', ({ detail }) => {
        dir.notify(detail.reason === 'replaced'
            ? 'This endpoint was opened in more windows; this one no longer rings. Reload to use it here.'
            : 'This endpoint was signed out: sign in again to call and be called.', 'error');
        dir.onChange();
    });
    p.connect();
    return p;
}

/** errorText is the plain words for a refusal of a direct-call message. */
function errorText({ code, message }) {
    switch (code) {
    case 'endpoint-offline': return 'They are not online now.';
    case 'endpoint-busy': return 'They are being called by someone else. Try again in a moment.';
    case 'too-many-rings': return 'You are calling three endpoints already. Wait for an answer, or cancel one.';
    case 'unknown-endpoint': return 'That endpoint is not in your group any more.';
    case 'unknown-call': return 'That call is over.';
    case 'not-in-call': return 'Join the call before adding someone to it.';
    case 'rate-limited': return `Too many calls in a short time. ${message || ''}`.trim();
    case 'bad-token':
    case 'token-expired': return 'This endpoint is signed out. Sign in again.';
    default: return message || `Something went wrong (${code}).`;
    }
}

/** ringEnded forgets a ring; the caller and the callee each get their words. */
function ringEnded(ring, callerText, calleeText) {
    const me = dir.presence && dir.presence.me;
    if (dir.incoming && dir.incoming.callId === ring.callId && me && ring.to.id === me.id) {
        hideIncoming();
        if (calleeText) dir.notify(calleeText, 'info');
    } else if (me && ring.from.id === me.id) {
        dir.outgoing.delete(ring.to.id);
        if (callerText) dir.notify(callerText, 'error');
    }
    dir.onChange();
}

function onAccepted(ring) {
    const me = dir.presence && dir.presence.me;
    if (dir.incoming && dir.incoming.callId === ring.callId && me && ring.to.id === me.id) hideIncoming();
    dir.outgoing.delete(ring.to.id);
    dir.onChange();
    if (!ring.token) {
        if (me && ring.from.id === me.id && ring.callId === dir.callId) dir.notify(`${nameOf(ring.to)} is joining the call.`, 'info');
        else if (me && ring.to.id === me.id) dir.notify('The call was answered on another device.', 'info');
        return;
    }
    try {
        sessionStorage.setItem(TICKET_KEY, JSON.stringify({
            callId: ring.callId, token: ring.token, room: `${nameOf(ring.from)} and ${nameOf(ring.to)}`,
            me: nameOf(me),
        }));
    } catch (e) { /* private mode: the call page says the call is over */ }
    location.assign(`/call/${encodeURIComponent(ring.callId)}`);
}

// ---------------------------------------------------------------- incoming-call dialog

function incomingDialog() {
    let d = $('incoming-dialog');
    if (d) return d;
    d = el('dialog', { id: 'incoming-dialog', class: 'dialog incoming-dialog', 'aria-labelledby': 'incoming-title', 'aria-describedby': 'incoming-from' },
        el('p', { class: 'incoming-kicker', text: 'Incoming call' }),
        el('h2', { id: 'incoming-title' }),
        el('p', { id: 'incoming-from', class: 'muted' }),
        el('div', { class: 'row end incoming-actions' },
            el('button', { type: 'button', id: 'decline-button', class: 'button danger-button', text: 'Decline', onclick: () => answer(false) }),
            el('button', { type: 'button', id: 'accept-button', class: 'button primary', text: 'Accept', onclick: () => answer(true) })));
    d.addEventListener('cancel', (ev) => { ev.preventDefault(); answer(false); }); // Escape declines
    document.body.append(d);
    return d;
}

function showIncoming(ring) {
    dir.incoming = ring;
    const d = incomingDialog();
    $('incoming-title').textContent = nameOf(ring.from);
    $('incoming-from').textContent = ring.conference
        ? `${ring.from.address} asks you to join a call under way.`
        : `${ring.from.address} is calling you.`;
    if (!d.open) d.showModal();
    $('accept-button').focus();
    ringer.start();
}

function hideIncoming() {
    dir.incoming = null;
    ringer.stop();
    const d = $('incoming-dialog');
    if (d && d.open) d.close();
}

function answer(accept) {
    const ring = dir.incoming;
    if (!ring || !dir.presence) return;
    hideIncoming();
    if (accept) dir.presence.accept(ring.callId);
    else dir.presence.decline(ring.callId);
}

// ---------------------------------------------------------------- endpoint list

/**
 * endpointRows draws the group's endpoints: a presence dot, the name and
 * address, what they are doing, and a Call button (Cancel while ringing).
 * exclude lists ids to leave out; callId is the call to ring them into.
 */
function endpointRows(list, { callId = '' } = {}) {
    const p = dir.presence;
    const endpoints = [...p.endpoints.values()].sort((a, b) => nameOf(a).localeCompare(nameOf(b)));
    // In a call, those in it already: the call's tiles carry their names.
    const here = new Set(callId ? [...document.querySelectorAll('.tile.remote .tile-name')].map((n) => n.textContent.trim()) : []);
    list.replaceChildren(...endpoints.map((e) => {
        const ringing = dir.outgoing.get(e.id);
        const inThis = e.inCall && here.has(nameOf(e));
        const status = ringing ? 'Ringing…' : inThis ? 'In this call' : e.inCall ? 'In a call' : e.online ? 'Online' : 'Offline';
        const state = ringing ? 'ringing' : e.inCall ? 'in-call' : e.online ? 'online' : 'offline';
        let button = null;
        if (ringing) {
            button = el('button', { type: 'button', class: 'button small subtle', text: 'Cancel', 'aria-label': `Cancel the call to ${nameOf(e)}`,
                onclick: () => p.cancel(ringing.callId) });
        } else if (!inThis) {
            const can = e.online && p.state === 'online';
            button = el('button', { type: 'button', class: `button small call-button ${can ? 'primary' : 'subtle'}`, text: 'Call',
                'aria-label': `Call ${nameOf(e)}`, disabled: !can, onclick: () => p.call(e.id, callId) });
        }
        return el('li', { class: 'endpoint directory-endpoint', 'data-id': e.id, 'data-state': state },
            el('span', { class: 'presence', 'data-online': String(!!e.online), 'data-state': state, 'aria-hidden': 'true' }),
            el('div', { class: 'endpoint-who' },
                el('span', { class: 'endpoint-name', text: nameOf(e) }),
                el('span', { class: 'endpoint-meta' },
                    el('code', { class: 'endpoint-address', text: e.address }),
                    el('span', { class: 'endpoint-status', 'data-status': state, text: status }))),
            el('div', { class: 'endpoint-actions' }, button));
    }));
    return endpoints.length;
}

// ---------------------------------------------------------------- the endpoint page

/** initDirectoryPanel adds "Call someone" to the signed-in endpoint page. */
function initDirectoryPanel() {
    const body = document.querySelector('#main-view .console-body');
    if (!body || $('directory-panel')) return;
    const panel = el('section', { id: 'directory-panel', class: 'site-panel directory-panel', 'aria-labelledby': 'directory-title' },
        el('div', { class: 'site-panel-head' },
            el('h2', { id: 'directory-title', text: 'Call someone' }),
            el('span', { id: 'directory-state', class: 'muted directory-state', role: 'status' })),
        el('p', { id: 'directory-notice', class: 'notice directory-notice', role: 'status', 'aria-live': 'polite', hidden: true }),
        el('ul', { id: 'directory-list', class: 'endpoint-list' }),
        el('p', { id: 'directory-empty', class: 'muted', hidden: true, text: 'Your group has no other endpoints yet. The administrator adds them in the console.' }));
    const notice = $('console-message');
    if (notice && notice.parentElement === body) notice.after(panel);
    else body.prepend(panel);

    let noticeTimer = null;
    dir.notify = (text, kind = 'info') => {
        const p = $('directory-notice');
        clearTimeout(noticeTimer);
        p.textContent = text;
        p.dataset.kind = kind;
        p.hidden = !text;
        if (text) noticeTimer = setTimeout(() => { p.hidden = true; }, 12000);
    };
    dir.onChange = () => {
        const p = dir.presence;
        const state = { connecting: 'Connecting…', online: '', offline: 'Reconnecting…', closed: 'Signed out' }[p.state] || '';
        $('directory-state').textContent = state;
        $('directory-empty').hidden = endpointRows($('directory-list')) > 0 || p.state !== 'online';
    };
    startPresence();
}

// Start once the endpoint page shows its signed-in view; stop on sign-out.
function watchEndpointPage() {
    const main = $('main-view');
    if (!main) return;
    const check = () => {
        if (!main.hidden) {
            initDirectoryPanel();
        } else if (dir.presence) {
            dir.presence.close();
            dir.presence = null;
            hideIncoming();
            const panel = $('directory-panel');
            if (panel) panel.remove();
        }
    };
    new MutationObserver(check).observe(main, { attributes: true, attributeFilter: ['hidden'] });
    check();
}

// ---------------------------------------------------------------- the call page

/**
 * usePresence opens this page's presence connection for the call page
 * (directcall.js): callId is the direct call it is in, notify(text, kind)
 * shows a notice, onChange() is told of every change.
 */
export function usePresence({ callId, notify, onChange }) {
    dir.callId = callId;
    dir.notify = notify;
    dir.onChange = onChange;
    return startPresence();
}

export { endpointRows, nameOf, TICKET_KEY };

watchEndpointPage();
