// notices.js — the banner at the top of the page, and the words the user
// reads for each error code and goodbye reason of the server.

import { $, show } from './dom.js';

let bannerTimer = null;

/**
 * showBanner shows a message at the top of the page. kind is "error",
 * "warning" (something is under way, e.g. reconnecting) or "info"; info
 * banners fade away on their own. action is {label, run}.
 */
export function showBanner(text, { kind = 'error', action = null, timeout = 0 } = {}) {
    clearTimeout(bannerTimer);
    const banner = $('banner');
    banner.classList.remove('fading');
    banner.dataset.kind = kind;
    $('banner-text').textContent = text;
    const btn = $('banner-action');
    if (action) {
        btn.textContent = action.label;
        btn.onclick = () => { hideBanner(); action.run(); };
    } else {
        btn.onclick = null;
    }
    show(btn, !!action);
    show(banner, true);
    if (timeout || kind === 'info') bannerTimer = setTimeout(fadeBanner, timeout || 4000);
}

// fadeBanner lets the banner fade out (style.css), then hides it.
function fadeBanner() {
    $('banner').classList.add('fading');
    bannerTimer = setTimeout(hideBanner, 600);
}

export function hideBanner() {
    clearTimeout(bannerTimer);
    $('banner').classList.remove('fading');
    show($('banner'), false);
}

/** errorText is what the user reads for a server error code. */
export function errorText(code, message) {
    switch (code) {
    case 'room-not-found': return 'This room no longer exists.';
    case 'bad-token':
    case 'token-expired': return 'Your invitation to this call expired. Rejoin to get a new one.';
    case 'bad-version': return 'This page is out of date. Reload the page to get the latest version.';
    case 'too-large': return 'Your browser sent a message the server could not accept.';
    case 'rate-limited': return 'Too many requests. Please wait a moment and try again.';
    case 'offer-timeout': return 'Your browser took too long to set up audio and video. Rejoin to try again.';
    case 'too-slow': return 'Your connection could not keep up with the call. Rejoin to try again.';
    case 'too-many-candidates': return 'Your browser sent more network addresses than the server accepts; the call may not connect.';
    case 'network': return 'The server could not be reached. Check your internet connection and try again.';
    case 'no-webrtc': return 'This browser cannot make video calls. Use a current Chrome, Edge, Firefox or Safari.';
    case 'bad-sdp':
    case 'negotiation': return 'Your browser and the server could not agree on how to send audio and video.';
    case 'bad-request': return message ? `The server refused a request: ${message}` : 'The server refused a request.';
    case 'internal': return message ? `Something went wrong on the server (${message}).` : 'Something went wrong on the server.';
    case 'call-locked': return 'This call is locked by its host. Ask a host to unlock it, then try again.';
    case 'not-host': return 'Only a host can do that, and you are not a host (any more).';
    case 'unknown-participant': return 'That person is no longer in the call.';
    case 'resume-failed': return 'Your place in the call could not be kept; joining again.';
    case 'join-timeout': return 'Joining took too long. Rejoin to try again.';
    case 'too-many-streams': return 'Your browser sent more media streams than the server accepts. Rejoin to try again.';
    case 'bad-json':
    case 'unknown-type':
    case 'not-joined':
    case 'already-joined': return 'This page and the server misunderstood each other. Reload the page if something does not work.';
    case 'too-many-connections': return 'Too many connections from your network are joining at once. Wait a few seconds and try again.';
    case 'server-busy': return 'The server is busy. Wait a few seconds and try again.';
    case 'server-shutdown': return 'The server is restarting. Wait a few seconds and try again.';
    case 'closed': return 'The call was closed.';
    case 'meeting-not-open': return message ? `This meeting is not open yet: ${message}` : 'This meeting is not open yet: members may join up to 15 minutes before the start.';
    case 'meeting-over': return 'This meeting is over: its booked time and the 15 minutes’ grace have ended.';
    case 'wrong-host-key': return 'That is not the host key of this meeting. Check the key in the group leader’s email and try again.';
    case 'no-host-key': return 'This call has no host key: only booked meetings do.';
    default: return message || 'Something went wrong.';
    }
}

/** byeText is what the user reads when the server ends their call. */
export function byeText(reason) {
    switch (reason) {
    case 'server-shutdown': return 'The server is shutting down — the call has ended';
    case 'room-deleted': return 'This room was deleted — the call has ended';
    case 'disconnected': return 'You were disconnected from the call';
    case 'media-failed': return 'Your audio and video could not get through to the server — check your network and rejoin';
    case 'left': return 'You left the call';
    case 'ended-by-host': return 'The host ended the call for everyone';
    case 'removed': return 'A host removed you from the call';
    // A deadline's reasons (call.endReason):
    case 'no-member': return 'The call has ended: no member of the room joined';
    case 'booking-over': return 'The call has ended: the booked time is over';
    case 'meeting-over': return 'The meeting has ended: its booked time is over';
    case 'meeting-cancelled': return 'The coordinator cancelled this meeting — the call has ended';
    case 'meeting-moved': return 'This meeting was moved to another time — the meeting link shows when';
    default: return 'The call has ended';
    }
}

/**
 * FINAL_BYES are the goodbyes after which the "left" page offers no
 * Rejoin: a host decided (the call is over, or you were removed), or a
 * booked meeting's time is over, cancelled or moved.
 */
export const FINAL_BYES = new Set(['ended-by-host', 'removed', 'meeting-over', 'meeting-cancelled', 'meeting-moved']);

/**
 * endReasonText is why a call is due to end (call.endReason, the reason of
 * call-warning), as a phrase, or "" for a reason this page does not know.
 */
export function endReasonText(reason) {
    switch (reason) {
    case 'no-member': return 'no member of the room has joined';
    case 'booking-over': return 'the booked time is over';
    case 'meeting-over': return 'the end of the booked meeting, with its 15 minutes’ grace';
    case 'meeting-not-open': return 'the meeting is not open yet';
    default: return '';
    }
}
