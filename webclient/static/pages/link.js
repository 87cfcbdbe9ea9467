// link.js — reading a room link someone pasted.

/** linkFromInput accepts a full room URL, a /r/… path or a bare link id, and returns the id or null. */
export function linkFromInput(raw) {
    raw = String(raw || '').trim();
    if (!raw) return null;
    let path = raw;
    try {
        path = new URL(raw).pathname;
    } catch (e) {
        // Not a URL: a path or a bare id.
    }
    const m = /(?:^|\/)r\/([^/?#\s]+)/.exec(path);
    if (m) {
        try { return decodeURIComponent(m[1]); } catch (e) { return null; }
    }
    if (/^[A-Za-z0-9_-]+$/.test(raw)) return raw;
    return null;
}
