// hostkey.js — "Claim host" in a booked meeting's call (joined's
// call.hostKey is true): a button in the list of people for anyone not a
// host, and a dialog asking for the host key the group leader was
// emailed. The key goes out as claim-host (protocol.js claimHost); the
// right one makes us a host (call.js shows the host controls, which
// moderation.js drives), a wrong one or too many tries are said in plain
// words in the dialog.

import { $, show } from './dom.js';
import { el } from './pages/ui.js';

const KEY_DIGITS = 8; // bookings.HostKeyDigits

// claim is this module's state: send(key) (set by initHostKey), whether
// this call takes a host key, our role, and whether a key is on its way.
const claim = { send: () => false, hostKey: false, role: '', pending: false };

/** initHostKey adds the Claim host button and its dialog; send(key) sends claim-host. */
export function initHostKey({ send }) {
    claim.send = send;
    const box = el('div', { id: 'claim-host', class: 'claim-host', hidden: true },
        el('p', { class: 'muted small-text', text: 'The group leader, or whoever they gave the host key to, can become the host: end the meeting for everyone, mute, remove, lock.' }),
        el('button', { type: 'button', id: 'claim-host-button', class: 'button small', text: 'Claim host', onclick: openDialog }));
    $('people-panel').insertBefore(box, $('host-controls'));
    document.body.append(dialog());
}

function dialog() {
    const d = el('dialog', { id: 'host-key-dialog', class: 'dialog host-key-dialog', 'aria-labelledby': 'host-key-title' });
    d.innerHTML = `
<form id="host-key-form" novalidate>
  <h2 id="host-key-title">Claim host</h2>
  <p class="muted">Enter the ${KEY_DIGITS}-digit host key from the group leader’s email with this meeting’s link. As the host you can end the meeting for everyone, mute or remove people, lock the call and hand host on.</p>
  <div class="field">
    <label for="host-key">Host key</label>
    <input id="host-key" type="text" inputmode="numeric" autocomplete="one-time-code" spellcheck="false" maxlength="${KEY_DIGITS}"
      pattern="[0-9]*" placeholder="${'0'.repeat(KEY_DIGITS)}" aria-describedby="host-key-error">
    <p id="host-key-error" class="field-error" role="alert" hidden></p>
  </div>
  <div class="row end">
    <button type="button" id="host-key-cancel" class="button subtle">Cancel</button>
    <button type="submit" id="host-key-submit" class="button primary">Claim host</button>
  </div>
</form>`;
    d.querySelector('#host-key-form').addEventListener('submit', (ev) => { ev.preventDefault(); submit(); });
    d.querySelector('#host-key-cancel').addEventListener('click', () => d.close());
    d.querySelector('#host-key').addEventListener('input', (ev) => {
        const digits = ev.target.value.replace(/\D/g, '').slice(0, KEY_DIGITS);
        if (digits !== ev.target.value) ev.target.value = digits;
        fieldError('');
    });
    d.addEventListener('close', () => {
        claim.pending = false;
        setBusy(false);
        if (!$('claim-host').hidden) $('claim-host-button').focus();
    });
    return d;
}

/**
 * setHostKey records whether this call takes a host key (call.hostKey of
 * joined or resumed; undefined keeps what was known) and our role, and
 * shows Claim host for anyone not a host of such a call.
 */
export function setHostKey(call, role) {
    if (call !== undefined) claim.hostKey = !!(call && call.hostKey);
    if (role !== undefined) claim.role = role || '';
    const may = claim.hostKey && claim.role !== 'host';
    show($('claim-host'), may);
    if (claim.role === 'host') closeHostKey();
}

/** closeHostKey closes the dialog (we are a host now, or the call ended). */
export function closeHostKey() {
    const d = $('host-key-dialog');
    if (d && d.open) d.close();
}

/** hostKeyRefused shows why the server refused a claim-host (an error whose ref is claim-host). */
export function hostKeyRefused(e) {
    claim.pending = false;
    setBusy(false);
    const d = $('host-key-dialog');
    if (!d.open) d.showModal();
    let text;
    switch (e.code) {
    case 'wrong-host-key':
        text = 'That is not this meeting’s host key. Check the key in the group leader’s email and try again.';
        break;
    case 'rate-limited':
        text = `Too many wrong host keys were tried. ${waitWords(e)}`;
        break;
    case 'no-host-key':
        text = 'This call has no host key: only booked meetings do.';
        break;
    default:
        text = e.message || 'The server refused the key. Try again in a moment.';
    }
    fieldError(text);
    $('host-key').select();
    $('host-key').focus();
}

// waitWords says how long to wait after rate-limited.
function waitWords(e) {
    let secs = Number(e.retryAfter) || 0;
    if (!secs && e.retryAt) secs = Math.ceil((new Date(e.retryAt).getTime() - Date.now()) / 1000);
    if (secs > 0) {
        const when = secs < 90 ? `${secs} second${secs === 1 ? '' : 's'}` : `${Math.ceil(secs / 60)} minutes`;
        return `Wait ${when}, then try again.`;
    }
    return e.message ? `${e.message}`.replace(/^\w/, (c) => c.toUpperCase()) : 'Wait a minute, then try again.';
}

function openDialog() {
    const d = $('host-key-dialog');
    $('host-key').value = '';
    fieldError('');
    setBusy(false);
    if (!d.open) d.showModal();
    $('host-key').focus();
}

function submit() {
    if (claim.pending) return;
    const key = $('host-key').value.trim();
    if (!key) { fieldError('Please enter the host key.'); $('host-key').focus(); return; }
    if (!/^\d+$/.test(key)) { fieldError('The host key has only digits (0 to 9).'); $('host-key').focus(); return; }
    if (key.length !== KEY_DIGITS) { fieldError(`The host key has ${KEY_DIGITS} digits; this has ${key.length}.`); $('host-key').focus(); return; }
    fieldError('');
    if (!claim.send(key)) {
        fieldError('Not connected to the call right now: try again in a moment.');
        return;
    }
    claim.pending = true;
    setBusy(true);
}

function setBusy(on) {
    const b = $('host-key-submit');
    if (!b) return;
    b.disabled = on;
    b.textContent = on ? 'Checking…' : 'Claim host';
}

function fieldError(text) {
    const out = $('host-key-error');
    out.textContent = text;
    show(out, !!text);
    if (text) $('host-key').setAttribute('aria-invalid', 'true');
    else $('host-key').removeAttribute('aria-invalid');
}
