// moderation.js — what a host's buttons do: ask first where a click
// cannot be undone (removing someone, ending the call for everyone), then
// send the moderation message. The server's answer comes back to everyone
// as participant-updated, participant-left, call-updated or bye (call.js);
// a refusal as an error, shown in plain words (notices.js).

import { $ } from './dom.js';
import { showBanner } from './notices.js';

// send is the function that sends a moderation message (set by call.js:
// the ParleyClient of the call on screen), or null outside a call.
let send = null;

/** setModerationSender sets (or, with null, clears) how messages go out. */
export function setModerationSender(fn) {
    send = fn;
}

/**
 * runModeration carries out a host's command: type is a moderation
 * message (docs/protocol.md, Moderation), p the participant it is about.
 */
export async function runModeration(type, p = null) {
    if (type === 'remove') {
        const ok = await confirmAction({
            title: `Remove ${p.name} from the call?`,
            text: `${p.name} leaves the call at once and is told that a host removed them.`,
            confirm: 'Remove',
        });
        if (!ok) return;
    } else if (type === 'end-call') {
        const ok = await confirmAction({
            title: 'End the call for everyone?',
            text: 'Everyone, you too, leaves the call at once.',
            confirm: 'End call for everyone',
        });
        if (!ok) return;
    }
    if (!send || !send(type, p ? p.id : '')) {
        showBanner('Not connected to the call right now: try again in a moment.', { kind: 'warning', timeout: 5000 });
    }
}

/**
 * confirmAction asks a yes/no question in a modal dialog and resolves to
 * true when the user confirms.
 */
export function confirmAction({ title, text, confirm }) {
    const dialog = $('confirm-dialog');
    $('confirm-title').textContent = title;
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = confirm;
    return new Promise((resolve) => {
        dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
        dialog.returnValue = '';
        dialog.showModal();
        $('confirm-cancel').focus();
    });
}

/** closeConfirm dismisses an open question (the call ended meanwhile). */
export function closeConfirm() {
    const dialog = $('confirm-dialog');
    if (dialog.open) dialog.close('cancel');
}
