// api.js — the group pages' one way to talk to the JSON API (docs/api.md):
// fetch with JSON bodies and the session cookies, and errors turned into
// ApiError with plain words for the person reading the page.

/** ApiError is a failed request: the HTTP status, the server's code and message, and per-field errors of a 422. */
export class ApiError extends Error {
    constructor(status, code, message, fields = {}, retryAfter = 0) {
        super(message);
        this.status = status;
        this.code = code;
        this.fields = fields;         // field name → plain words ("members.0": …)
        this.retryAfter = retryAfter; // seconds, for 429
    }
}

/**
 * request sends one API call and returns its JSON body ({} when there is
 * none). It throws ApiError for any answer but 2xx, and for a network
 * failure (status 0, code "network").
 */
export async function request(method, path, body) {
    const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
        init.headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
    }
    let resp;
    try {
        resp = await fetch(path, init);
    } catch (e) {
        throw new ApiError(0, 'network', 'The server could not be reached. Check your internet connection and try again.');
    }
    let data = {};
    const text = await resp.text();
    if (text) {
        try { data = JSON.parse(text); } catch (e) { data = {}; }
    }
    if (resp.ok) return data;
    throw errorFrom(resp, data);
}

// errorFrom reads both error shapes the API uses: {"error": {"code", "message"}}
// and the form validation's {"error": "invalid", "message", "fields"}.
function errorFrom(resp, data) {
    let code = '', message = '', fields = {};
    if (data && typeof data.error === 'object' && data.error) {
        code = data.error.code || '';
        message = data.error.message || '';
        fields = data.error.fields || data.fields || {};
    } else if (data && typeof data.error === 'string') {
        code = data.error;
        message = data.message || '';
        fields = data.fields || {};
    }
    const retryAfter = Number(resp.headers.get('Retry-After')) || 0;
    const err = new ApiError(resp.status, code || `http-${resp.status}`, message, fields, retryAfter);
    err.body = data && typeof data === 'object' ? data : {}; // the whole answer (a 409 booking-conflict's alternatives)
    return err;
}

/** describe is what the person reads for a failed request that is not about one field. */
export function describe(err) {
    if (!(err instanceof ApiError)) return 'Something went wrong. Please try again.';
    switch (err.code) {
    case 'network': return err.message;
    case 'rate-limited': {
        const wait = err.retryAfter ? ` in ${waitWords(err.retryAfter)}` : ' in a moment';
        return `Too many attempts. Please try again${wait}.`;
    }
    case 'group-pending': return 'This group is not activated yet: the administrator must first open the activation link emailed to them.';
    case 'group-disabled': return 'This group is disabled by the service operator.';
    case 'endpoint-disabled': return 'This endpoint is disabled. Ask the group’s administrator to enable it.';
    case 'busy': return 'The server is busy checking other sign-ins. Please try again in a moment.';
    case 'cross-origin': return 'The server refused a request from another site. Open this page from the server’s own address.';
    case 'link-expired': return 'This link has expired.';
    case 'link-used': return 'This link was already used.';
    case 'internal': return `Something went wrong on the server. If it keeps happening, tell the operator: ${err.message}.`;
    }
    if (err.status === 403) return 'The server refused this request. Reload the page and try again.';
    if (err.message) return sentence(err.message);
    return `The server answered with an error (${err.status}). Please try again.`;
}

function waitWords(secs) {
    if (secs < 90) return `${secs} second${secs === 1 ? '' : 's'}`;
    const mins = Math.ceil(secs / 60);
    return `${mins} minutes`;
}

/** sentence starts the server's message with a capital and ends it with a full stop. */
export function sentence(s) {
    s = String(s || '').trim();
    if (!s) return s;
    s = s[0].toUpperCase() + s.slice(1);
    return /[.!?]$/.test(s) ? s : s + '.';
}
