// ui.js — small pieces the group pages share: building elements, copying
// text, asking to confirm, and telling apart the signed-in and signed-out
// views of a page.

import { $ } from './form.js';

/** el builds an element: el('li', {class: 'x', text: 'hi'}, child, …). */
export function el(tag, attrs = {}, ...children) {
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

/**
 * copyButton returns a button that copies text() and says so. It falls
 * back to selecting the text where the Clipboard API is unavailable
 * (plain http on a LAN address).
 */
export function copyButton(label, text, { select = null } = {}) {
    const b = el('button', { type: 'button', class: 'button small subtle copy-button', text: label });
    b.addEventListener('click', async () => {
        let ok = false;
        try {
            await navigator.clipboard.writeText(text());
            ok = true;
        } catch (e) {
            if (select) {
                select.focus();
                select.select();
                try { ok = document.execCommand('copy'); } catch (e2) { ok = false; }
            }
        }
        b.textContent = ok ? 'Copied' : 'Select and copy';
        setTimeout(() => { b.textContent = label; }, 2000);
    });
    return b;
}

/**
 * confirmAction asks in the page's confirm dialog (#confirm-dialog) and
 * resolves true when the person confirms.
 */
export function confirmAction(title, text, action) {
    const dlg = $('confirm-dialog');
    $('confirm-title').textContent = title;
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = action;
    return new Promise((resolve) => {
        dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
        dlg.returnValue = '';
        dlg.showModal();
        $('confirm-cancel').focus();
    });
}

/** showView shows the signed-out or the signed-in part of a page. */
export function showView(signedIn) {
    $('signin-view').hidden = signedIn;
    $('main-view').hidden = !signedIn;
    document.body.dataset.view = signedIn ? 'main' : 'signin';
}

/** say shows a message at the top of a signed-in page (#console-message); "" hides it. */
export function say(text, kind = 'info') {
    const p = $('console-message');
    p.textContent = text;
    p.dataset.kind = kind;
    p.hidden = !text;
}
