// form.js — the group pages' forms: an error beside each field (with
// aria-invalid and aria-describedby, so a screen reader reads it with the
// field), a message for the whole form, focus on the first error, and a
// busy submit button.
//
// Convention: the error of the field with id X is the element X-error,
// and the field lists X-error in its aria-describedby.

import { ApiError, describe, sentence } from './api.js';

/** $ returns the element with the given id. */
export const $ = (id) => document.getElementById(id);

/** setFieldError shows msg beside the field with that id ("" clears it). */
export function setFieldError(id, msg) {
    const input = $(id);
    const out = $(`${id}-error`);
    if (!input || !out) return false;
    out.textContent = msg || '';
    out.hidden = !msg;
    if (msg) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
    return true;
}

/** clearErrors clears the field errors and the form message inside root. */
export function clearErrors(root) {
    for (const input of root.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
    for (const out of root.querySelectorAll('.field-error')) {
        out.textContent = '';
        out.hidden = true;
    }
}

/**
 * showErrors shows each {id: message} beside its field and focuses the
 * first one in page order. It returns the ids it could not place.
 */
export function showErrors(errors) {
    const unplaced = [];
    const placed = [];
    for (const [id, msg] of Object.entries(errors)) {
        if (setFieldError(id, sentence(msg))) placed.push($(id));
        else unplaced.push(id);
    }
    focusFirst(placed);
    return unplaced;
}

/** focusFirst focuses the element that comes first in the page. */
export function focusFirst(els) {
    const sorted = els.filter(Boolean).sort((a, b) =>
        a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1);
    if (sorted.length) sorted[0].focus();
}

/** setFormMessage shows a message for the whole form in its element ("" hides it). */
export function setFormMessage(id, msg, kind = 'error') {
    const out = $(id);
    out.textContent = msg || '';
    out.hidden = !msg;
    out.dataset.kind = kind;
}

/**
 * failed shows a failed request: field errors beside their fields (fieldId
 * maps an API field name to an element id), anything else in the form's
 * message element msgId.
 */
export function failed(err, msgId, fieldId = (name) => name) {
    const fields = err instanceof ApiError ? err.fields : {};
    const mapped = {};
    for (const [name, msg] of Object.entries(fields || {})) mapped[fieldId(name)] = msg;
    const unplaced = showErrors(mapped);
    if (unplaced.length) setFormMessage(msgId, unplaced.map((id) => sentence(mapped[id])).join(' '));
    else if (!Object.keys(mapped).length) setFormMessage(msgId, describe(err));
    else setFormMessage(msgId, '');
}

/**
 * busy disables button and shows text on it while run() runs; the form
 * cannot be sent twice.
 */
export async function busy(button, text, run) {
    const label = button.textContent;
    button.disabled = true;
    button.textContent = text;
    try {
        return await run();
    } finally {
        button.disabled = false;
        button.textContent = label;
    }
}

/** value is the trimmed value of the field with that id. */
export const value = (id) => $(id).value.trim();
