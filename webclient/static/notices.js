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
    default: return 'The call has ended';
    }
}
