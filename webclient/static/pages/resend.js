// resend.js — the "send the activation link again" form of the sign-up's
// last page and of the activation page (POST /api/v1/signup/resend). Both
// pages give it the same ids: resend-form, -group, -password, -message,
// -button.

import { request } from './api.js';
import { $, clearErrors, showErrors, setFormMessage, failed, busy, value } from './form.js';

const FIELD_IDS = { groupName: 'resend-group', password: 'resend-password' };

export function initResend() {
    $('resend-form').addEventListener('submit', resend);
}

async function resend(ev) {
    ev.preventDefault();
    clearErrors($('resend-form'));
    setFormMessage('resend-message', '');
    const errors = {};
    if (!value('resend-group')) errors['resend-group'] = 'Please enter the group name.';
    if (!$('resend-password').value) errors['resend-password'] = 'Please enter the group’s password.';
    if (Object.keys(errors).length) { showErrors(errors); return; }
    try {
        await busy($('resend-button'), 'Sending…', () => request('POST', '/api/v1/signup/resend',
            { groupName: value('resend-group'), password: $('resend-password').value }));
    } catch (e) {
        if (e.status === 401) setFormMessage('resend-message', 'The group name or the password is not right.');
        else failed(e, 'resend-message', (n) => FIELD_IDS[n] || n);
        return;
    }
    $('resend-password').value = '';
    setFormMessage('resend-message', 'We sent a new link to the administrator’s email address. The links sent before it no longer work.', 'ok');
}
