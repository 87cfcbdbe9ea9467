// admin.js — the group administrator's console (/admin): sign in with
// group name and password, then the group's members and room systems,
// the subscription's limits beside usage, contact details, password and
// PIN. See docs/api.md, /api/v1/admin/….

import { request, describe, sentence } from './api.js';
import { $, setFieldError, clearErrors, showErrors, setFormMessage, failed, busy, value } from './form.js';
import { el, copyButton, confirmAction, showView, say } from './ui.js';
import { initResend } from './resend.js';

const REFRESH_MS = 10000; // how often the console refreshes who is online

// page is the console's state, owned by this module.
const page = {
    group: null,   // the last GET /api/v1/admin/group
    timer: null,   // the refresh timer while signed in
    filled: false, // the contact form holds the group's values
};

// ---------------------------------------------------------------- sign-in

function showSignin(message = '') {
    clearInterval(page.timer);
    page.timer = null;
    page.group = null;
    page.filled = false;
    showView(false);
    document.title = 'Group administrator — Parley';
    setFormMessage('signin-message', message, 'info');
    $('signin-group').focus();
}

async function signIn(ev) {
    ev.preventDefault();
    clearErrors($('signin-form'));
    const errors = {};
    if (!value('signin-group')) errors['signin-group'] = 'Please enter the group name.';
    if (!$('signin-password').value) errors['signin-password'] = 'Please enter the password.';
    if (Object.keys(errors).length) { showErrors(errors); return; }
    try {
        await busy($('signin-button'), 'Signing in…', () => request('POST', '/api/v1/admin/login',
            { groupName: value('signin-group'), password: $('signin-password').value }));
    } catch (e) {
        if (e.status === 401) {
            setFormMessage('signin-message', 'The group name or the password is not right.');
            $('signin-password').focus();
        } else {
            failed(e, 'signin-message', (n) => ({ groupName: 'signin-group', password: 'signin-password' })[n] || n);
        }
        return;
    }
    $('signin-password').value = '';
    await load({ focus: true });
}

async function signOut() {
    try { await request('POST', '/api/v1/admin/logout'); } catch (e) { /* signed out either way */ }
    showSignin('You are signed out.');
}

// call runs an API call of the console; a 401 means the session ended
// (signed out elsewhere, or the password changed), and shows the sign-in.
async function call(method, path, body) {
    try {
        return await request(method, path, body);
    } catch (e) {
        if (e.status === 401) showSignin('You were signed out. Please sign in again.');
        throw e;
    }
}

// ---------------------------------------------------------------- console

async function load({ focus = false } = {}) {
    let g;
    try {
        g = await request('GET', '/api/v1/admin/group');
    } catch (e) {
        if (e.status === 401) {
            if (page.group) showSignin('You were signed out. Please sign in again.');
            else showSignin();
            return;
        }
        if (page.group) { say(describe(e)); return; }
        showSignin(describe(e));
        return;
    }
    page.group = g;
    render(g);
    showView(true);
    if (!page.timer) page.timer = setInterval(refresh, REFRESH_MS);
    if (focus) $('group-name').focus();
}

async function refresh() {
    if (document.hidden || !page.group) return;
    try {
        const g = await request('GET', '/api/v1/admin/group');
        page.group = g;
        render(g);
    } catch (e) {
        if (e.status === 401) showSignin('You were signed out. Please sign in again.');
    }
}

function render(g) {
    const active = g.state === 'active';
    $('group-name').textContent = g.name;
    $('group-name').tabIndex = -1;
    document.title = `${g.name} — Group administrator — Parley`;
    const badge = $('group-state');
    badge.textContent = active ? 'Active' : g.state === 'pending' ? 'Waiting for activation' : g.state || '';
    badge.dataset.state = g.state || '';
    $('pending-panel').hidden = g.state !== 'pending';
    $('pending-email').textContent = (g.admin && g.admin.email) || '';
    $('resend-group').value = g.name;
    renderEndpoints(g.endpoints || []);
    renderUsage(g.limits || {}, g.usage || {});
    $('add-member-hint').textContent = active
        ? 'Their email address (at most 50 characters). We email them their endpoint details.'
        : 'Their email address (at most 50 characters). They get their endpoint details by email when the group is activated.';
    // A room system needs an active group.
    $('add-room').disabled = !active;
    $('add-room-button').disabled = !active;
    $('add-room-hint').textContent = active
        ? 'A hardware room system or meeting-room screen, by any name. Its secret is shown once, here.'
        : 'Room systems can be added once the group is activated.';
    if (!page.filled) {
        $('adminName').value = (g.admin && g.admin.name) || '';
        $('adminEmail').value = (g.admin && g.admin.email) || '';
        page.filled = true;
    }
}

function renderEndpoints(eps) {
    const list = $('endpoint-list');
    // Keep focus on the row's button across a refresh.
    const focused = document.activeElement && document.activeElement.dataset.action
        ? [document.activeElement.closest('li')?.dataset.id, document.activeElement.dataset.action] : null;
    const active = page.group && page.group.state === 'active';
    list.replaceChildren(...eps.map((ep) => endpointRow(ep, active)));
    $('endpoints-empty').hidden = eps.length > 0;
    const online = eps.filter((e) => e.online).length;
    $('online-summary').textContent = eps.length ? `${online} of ${eps.length} online` : '';
    if (focused) list.querySelector(`li[data-id="${CSS.escape(focused[0] || '')}"] [data-action="${focused[1]}"]`)?.focus();
}

// endpointRow is one endpoint's row; new credentials only once the group
// is active (a pending group's members get theirs at activation).
function endpointRow(ep, active) {
    const roomSystem = ep.kind === 'room-system';
    const status = ep.disabled ? 'Disabled' : ep.online ? 'Online' : 'Offline';
    const li = el('li', { class: 'endpoint' + (ep.disabled ? ' disabled' : ''), 'data-id': ep.id });
    li.append(
        el('span', { class: 'presence', 'data-online': String(!!ep.online && !ep.disabled), title: status, 'aria-hidden': 'true' }),
        el('div', { class: 'endpoint-who' },
            el('span', { class: 'endpoint-name', text: ep.name }),
            el('span', { class: 'endpoint-meta' },
                el('code', { class: 'endpoint-address', text: ep.address }),
                el('span', { class: 'badge small', text: roomSystem ? 'Room system' : 'Member' }),
                el('span', { class: 'endpoint-status', 'data-status': status.toLowerCase(), text: status }))),
        el('div', { class: 'endpoint-actions' },
            el('button', { type: 'button', class: 'button small subtle', 'data-action': 'toggle',
                text: ep.disabled ? 'Enable' : 'Disable', 'aria-label': `${ep.disabled ? 'Enable' : 'Disable'} ${ep.name}`,
                onclick: () => toggle(ep) }),
            active ? el('button', { type: 'button', class: 'button small subtle', 'data-action': 'reissue',
                text: 'New credentials', 'aria-label': `Issue new credentials for ${ep.name}`, onclick: () => reissue(ep) }) : null,
            el('button', { type: 'button', class: 'button small subtle danger-text', 'data-action': 'remove',
                text: 'Remove', 'aria-label': `Remove ${ep.name}`, onclick: () => remove(ep) })));
    return li;
}

const USAGE = [['endpoints', 'Endpoints'], ['rooms', 'Rooms'], ['participants', 'Participants in calls now']];

function renderUsage(limits, usage) {
    const dl = $('usage');
    dl.replaceChildren(...USAGE.map(([key, label]) => {
        const used = Number(usage[key]) || 0;
        const limit = Number(limits[key]) || 0;
        const bar = el('div', { class: 'usage-bar', 'aria-hidden': 'true' }, el('div', { class: 'usage-fill' }));
        const frac = limit > 0 ? Math.min(used / limit, 1) : 0;
        bar.firstChild.style.setProperty('--fill', String(frac));
        bar.dataset.full = String(limit > 0 && used >= limit);
        return el('div', { class: 'usage-row' },
            el('dt', { text: label }),
            el('dd', { text: limit > 0 ? `${used} of ${limit}` : `${used} (no limit)` }),
            el('dd', { class: 'usage-bar-cell' }, bar));
    }));
}

// ---------------------------------------------------------------- endpoints

async function addEndpoint(ev, kind) {
    ev.preventDefault();
    const id = kind === 'member' ? 'add-member' : 'add-room';
    const form = ev.target;
    clearErrors(form);
    const name = value(id);
    if (!name) {
        showErrors({ [id]: kind === 'member' ? 'Please enter the member’s email address.' : 'Please enter a name for the room system.' });
        return;
    }
    if (kind === 'member' && !/^[^\s@]+@[^\s@]+$/.test(name)) {
        showErrors({ [id]: 'This is not an email address. It should look like name@example.org.' });
        return;
    }
    let res;
    try {
        res = await busy($(`${id}-button`), 'Adding…', () => call('POST', '/api/v1/admin/endpoints', { kind, name }));
    } catch (e) {
        if (e.status !== 401) {
            const words = Object.values(e.fields || {})[0];
            setFieldError(id, words ? sentence(words) : describe(e));
            $(id).focus();
        }
        return;
    }
    $(id).value = '';
    const ep = res.endpoint || {};
    await load();
    if (res.secret) showSecret(ep, res.secret, `${ep.name} is added.`);
    else if (res.sentTo) say(`${ep.name || name} is added. We are emailing ${res.sentTo === (ep.name || name) ? 'them' : res.sentTo} their endpoint details.`, 'ok');
    else say(`${ep.name || name} is added. They get their endpoint details by email when the group is activated.`, 'ok');
    $(id).focus();
}

async function toggle(ep) {
    const action = ep.disabled ? 'enable' : 'disable';
    try {
        await call('POST', `/api/v1/admin/endpoints/${encodeURIComponent(ep.id)}/${action}`);
    } catch (e) {
        if (e.status !== 401) say(describe(e), 'error');
        return;
    }
    say(ep.disabled ? `${ep.name} is enabled again.` : `${ep.name} is disabled: it is signed out and cannot sign in until you enable it.`, 'ok');
    await load();
}

async function reissue(ep) {
    const ok = await confirmAction(`New credentials for ${ep.name}?`,
        `${ep.name}’s current secret stops working at once, and anything signed in with it is signed out.`,
        'Issue new credentials');
    if (!ok) return;
    let res;
    try {
        res = await call('POST', `/api/v1/admin/endpoints/${encodeURIComponent(ep.id)}/reissue`);
    } catch (e) {
        if (e.status !== 401) say(describe(e), 'error');
        return;
    }
    await load();
    if (res.secret) showSecret(res.endpoint || ep, res.secret, `New credentials for ${ep.name}.`);
    else say(`New endpoint details for ${ep.name} are on their way to ${res.sentTo || 'them'} by email.`, 'ok');
}

async function remove(ep) {
    const ok = await confirmAction(`Remove ${ep.name}?`,
        `${ep.name} (${ep.address}) is signed out and can no longer sign in. This cannot be undone.`, 'Remove');
    if (!ok) return;
    try {
        await call('DELETE', `/api/v1/admin/endpoints/${encodeURIComponent(ep.id)}`);
    } catch (e) {
        if (e.status !== 401) say(describe(e), 'error');
        return;
    }
    say(`${ep.name} is removed.`, 'ok');
    await load();
}

// showSecret shows a room system's address and secret, once, to copy.
function showSecret(ep, secret, intro) {
    $('secret-title').textContent = `Endpoint details for ${ep.name}`;
    $('secret-intro').textContent = intro;
    $('secret-address').value = ep.address || '';
    $('secret-value').value = secret;
    $('secret-where').textContent = `${location.origin}/endpoint`;
    for (const [row, input] of [['secret-address-row', 'secret-address'], ['secret-value-row', 'secret-value']]) {
        $(row).querySelector('.copy-button')?.remove();
        $(row).append(copyButton('Copy', () => $(input).value, { select: $(input) }));
    }
    const dlg = $('secret-dialog');
    dlg.addEventListener('close', () => { $('secret-value').value = ''; }, { once: true });
    dlg.showModal();
    $('secret-value').focus();
    $('secret-value').select();
}

// ---------------------------------------------------------------- settings

async function saveContact(ev) {
    ev.preventDefault();
    clearErrors($('contact-form'));
    const errors = {};
    if (!value('adminName')) errors.adminName = 'Please enter your name.';
    if (!value('adminEmail')) errors.adminEmail = 'Please enter your email address.';
    else if (!/^[^\s@]+@[^\s@]+$/.test(value('adminEmail'))) errors.adminEmail = 'This is not an email address. It should look like name@example.org.';
    if (Object.keys(errors).length) { showErrors(errors); return; }
    try {
        await busy($('contact-button'), 'Saving…', () => call('PUT', '/api/v1/admin/contact',
            { adminName: value('adminName'), adminEmail: value('adminEmail') }));
    } catch (e) {
        if (e.status !== 401) failed(e, 'contact-message');
        return;
    }
    setFormMessage('contact-message', 'Saved.', 'ok');
    page.filled = false;
    await load();
}

async function changePassword(ev) {
    ev.preventDefault();
    clearErrors($('password-form'));
    const errors = {};
    if (!$('pw-current').value) errors['pw-current'] = 'Please enter the current password.';
    if (!$('pw-new').value) errors['pw-new'] = 'Please enter the new password.';
    else if ([...$('pw-new').value].length < 5) errors['pw-new'] = 'The password is too short: it needs at least 5 characters.';
    if (Object.keys(errors).length) { showErrors(errors); return; }
    try {
        await busy($('password-button'), 'Changing…', () => call('PUT', '/api/v1/admin/password',
            { current: $('pw-current').value, password: $('pw-new').value }));
    } catch (e) {
        if (e.status !== 401) failed(e, 'password-message', (n) => ({ current: 'pw-current', password: 'pw-new' })[n] || n);
        return;
    }
    $('pw-current').value = '';
    $('pw-new').value = '';
    setFormMessage('password-message', 'The password is changed.', 'ok');
}

async function changePIN(ev) {
    ev.preventDefault();
    clearErrors($('pin-form'));
    const errors = {};
    const pin = $('pin-new').value.trim();
    if (!$('pin-password').value) errors['pin-password'] = 'Please enter the password.';
    if (!pin) errors['pin-new'] = 'Please enter the new PIN.';
    else if (!/^\d+$/.test(pin)) errors['pin-new'] = 'The PIN can only have digits (0 to 9).';
    else if (pin.length < 4 || pin.length > 8) errors['pin-new'] = 'The PIN must have 4 to 8 digits.';
    if (Object.keys(errors).length) { showErrors(errors); return; }
    try {
        await busy($('pin-button'), 'Changing…', () => call('PUT', '/api/v1/admin/pin',
            { password: $('pin-password').value, pin }));
    } catch (e) {
        if (e.status !== 401) failed(e, 'pin-message', (n) => ({ password: 'pin-password', pin: 'pin-new' })[n] || n);
        return;
    }
    $('pin-password').value = '';
    $('pin-new').value = '';
    setFormMessage('pin-message', 'The meeting PIN is changed. Tell your group users the new one.', 'ok');
}

// ---------------------------------------------------------------- start

function main() {
    $('signin-form').addEventListener('submit', signIn);
    $('signout-button').addEventListener('click', signOut);
    $('add-member-form').addEventListener('submit', (ev) => addEndpoint(ev, 'member'));
    $('add-room-form').addEventListener('submit', (ev) => addEndpoint(ev, 'room-system'));
    $('contact-form').addEventListener('submit', saveContact);
    $('password-form').addEventListener('submit', changePassword);
    $('pin-form').addEventListener('submit', changePIN);
    for (const input of document.querySelectorAll('input')) {
        input.addEventListener('input', () => {
            input.removeAttribute('aria-invalid');
            const err = $(`${input.id}-error`);
            if (err) err.hidden = true;
        });
    }
    initResend();
    document.addEventListener('visibilitychange', () => { if (!document.hidden) refresh(); });
    load();
}

main();
