// activate.js — /activate/{token}: activates the group (POST
// /api/v1/activate) and says so, or says plainly why the link no longer
// works and sends a new one (POST /api/v1/signup/resend).

import { request, describe } from './api.js';
import { $ } from './form.js';
import { initResend } from './resend.js';

function tokenFromPath() {
    const m = /^\/activate\/([^/]+)\/?$/.exec(location.pathname);
    if (!m) return '';
    try { return decodeURIComponent(m[1]); } catch (e) { return ''; }
}

function show(id) {
    for (const s of ['working', 'activated', 'failed']) $(s).hidden = s !== id;
}

async function activate() {
    let res;
    try {
        res = await request('POST', '/api/v1/activate', { token: tokenFromPath() });
    } catch (e) {
        showFailed(e);
        return;
    }
    const name = (res.group && res.group.name) || 'Your group';
    $('activated-group').textContent = name;
    document.title = `${name} is active — Parley`;
    show('activated');
    $('activated-title').focus();
}

function showFailed(e) {
    let title = 'This link no longer works';
    let text;
    let used = false; // nothing to resend: the group is active
    switch (e.code) {
    case 'link-expired':
        title = 'This activation link has expired';
        text = 'Activation links work for 48 hours, and each stops working when a newer one is sent. You can get a new one below.';
        break;
    case 'link-used':
        title = 'This activation link was already used';
        text = 'Your group is already active. Sign in to the console to manage it.';
        used = true;
        break;
    case 'network':
        title = 'The server could not be reached';
        text = 'Check your internet connection, then reload this page.';
        break;
    default:
        text = `${describe(e)} Check that you opened the whole link from the email, or get a new link below.`;
    }
    $('failed-title').textContent = title;
    $('failed-text').textContent = text;
    $('resend-form').hidden = used;
    $('used-actions').hidden = !used;
    document.title = `${title} — Parley`;
    show('failed');
    $('failed-title').focus();
}


initResend();
activate();
