// participants.js — the list of the people in the call: a panel opened
// from the call bar, with each one's name, role, microphone and camera,
// whether a host muted them, whether they are reconnecting, and, for a
// host, the moderation buttons (moderation.js sends them). The count
// next to the button is always on screen.

import { $, show, initials, avatarHue } from './dom.js';
import { runModeration } from './moderation.js';

/**
 * list is the panel's model, owned by this module; call.js feeds it from
 * the ParleyClient's events. me is our own record (id, name, role, mute
 * state), others everyone else in join order, call the call's state.
 */
const list = {
    me: null,
    others: new Map(),
    call: { locked: false },
};

const ROLE_TEXT = { host: 'Host', member: 'Member', guest: 'Guest' };

/** initParticipants wires the panel's buttons. */
export function initParticipants() {
    $('people-button').addEventListener('click', () => openPanel($('people-panel').hidden));
    $('people-close').addEventListener('click', () => openPanel(false));
    $('mute-all-button').addEventListener('click', () => runModeration('mute-all'));
    $('lock-button').addEventListener('click', () => runModeration(list.call.locked ? 'unlock' : 'lock'));
    $('end-call-button').addEventListener('click', () => runModeration('end-call'));
    document.addEventListener('keydown', (ev) => {
        if (ev.key === 'Escape' && !$('people-panel').hidden && !$('confirm-dialog').open) openPanel(false);
    });
}

/** openPanel shows or hides the list. */
export function openPanel(open) {
    show($('people-panel'), open);
    $('people-button').setAttribute('aria-expanded', String(open));
    document.body.classList.toggle('people-open', open);
    if (open) $('people-close').focus();
}

/**
 * resetParticipants starts the list of a new session: me is our own
 * record so far, others the participants already here, call the call.
 */
export function resetParticipants(me, others, call) {
    list.me = { connection: 'connected', ...me };
    list.others.clear();
    for (const p of others) list.others.set(p.id, p);
    list.call = call || { locked: false };
    render();
}

/** clearParticipants empties the list and closes it (the call ended). */
export function clearParticipants() {
    list.me = null;
    list.others.clear();
    list.call = { locked: false };
    openPanel(false);
    render();
}

/** updateSelf merges what changed in our own record. */
export function updateSelf(fields) {
    if (!list.me) return;
    Object.assign(list.me, fields);
    render();
}

/** upsertParticipant adds or updates someone else. */
export function upsertParticipant(p) {
    list.others.set(p.id, { ...(list.others.get(p.id) || {}), ...p });
    render();
}

export function removeParticipant(id) {
    if (list.others.delete(id)) render();
}

/** setCallState records the call's state (locked, endsAt, ...). */
export function setCallState(call) {
    list.call = call || { locked: false };
    render();
}

/** participantName is someone's name, or "" for no one we know. */
export function participantName(id) {
    const p = list.others.get(id);
    return p ? p.name : '';
}

/** isHost reports whether we are a host. */
export function isHost() {
    return !!list.me && list.me.role === 'host';
}

// ---------------------------------------------------------------- drawing

// order: us first, then the hosts, then everyone else in join order.
function ordered() {
    const others = [...list.others.values()];
    return [
        ...(list.me ? [{ ...list.me, self: true }] : []),
        ...others.filter((p) => p.role === 'host'),
        ...others.filter((p) => p.role !== 'host'),
    ];
}

function render() {
    const people = ordered();
    const n = people.length;
    $('people-count-badge').textContent = n ? String(n) : '';
    $('people-button').setAttribute('aria-label', n ? `People in the call (${n})` : 'People in the call');
    $('people-title-count').textContent = n ? `(${n})` : '';
    const locked = !!list.call.locked;
    show($('lock-indicator'), locked && !!list.me);
    show($('people-locked'), locked);
    const host = isHost();
    show($('host-controls'), host);
    $('lock-button').textContent = locked ? 'Unlock call' : 'Lock call';
    $('lock-button').setAttribute('aria-pressed', String(locked));
    // The rows are drawn anew: keep the keyboard focus on the same button.
    const focused = document.activeElement && document.activeElement.closest('#people-list .person button');
    const keep = focused && { id: focused.closest('.person').dataset.participantId, action: focused.dataset.action };
    $('people-list').replaceChildren(...people.map((p) => row(p, host)));
    if (keep) {
        const again = $('people-list').querySelector(`.person[data-participant-id="${CSS.escape(keep.id)}"] button[data-action="${keep.action}"]`);
        if (again && !again.disabled) again.focus();
        else $('people-close').focus();
    }
}

function row(p, host) {
    const li = document.createElement('li');
    li.className = 'person';
    li.dataset.participantId = p.id || '';
    li.dataset.role = p.role || '';
    if (p.self) li.classList.add('self');
    if (p.connection === 'reconnecting') li.classList.add('reconnecting');

    const avatar = el('span', 'avatar person-avatar', initials(p.name));
    avatar.style.setProperty('--hue', String(avatarHue(p.self ? p.name : p.id)));
    avatar.setAttribute('aria-hidden', 'true');

    const who = el('div', 'person-who');
    const name = el('span', 'person-name', p.name || 'Guest');
    if (p.self) name.append(el('span', 'person-you', ' (you)'));
    const role = el('span', `role-badge role-${p.role || 'member'}`, ROLE_TEXT[p.role] || 'Member');
    const line = el('div', 'person-line');
    line.append(name, role);
    who.append(line, el('div', 'person-status', statusText(p)));

    const icons = el('div', 'person-icons');
    if (p.audioMuted) icons.append(icon('mic-off', p.audioMutedByHost ? 'Muted by a host' : 'Microphone off'));
    if (p.videoMuted) icons.append(icon('cam-off', 'Camera off'));

    const top = el('div', 'person-top');
    top.append(avatar, who, icons);
    li.append(top);
    if (host && !p.self) li.append(hostButtons(p));
    return li;
}

// statusText is the line under a name: how they are connected and heard.
function statusText(p) {
    const parts = [];
    if (p.connection === 'reconnecting') parts.push('Reconnecting…');
    if (p.audioMutedByHost) parts.push('Muted by host');
    else if (p.audioMuted) parts.push('Microphone off');
    if (p.videoMuted) parts.push('Camera off');
    return parts.join(' · ');
}

function hostButtons(p) {
    const box = el('div', 'person-actions');
    const mute = el('button', 'button small', p.audioMutedByHost ? 'Muted' : 'Mute');
    mute.type = 'button';
    mute.dataset.action = 'mute-participant';
    // Muting someone already muted by a host does nothing (docs/protocol.md).
    mute.disabled = !!p.audioMutedByHost;
    mute.setAttribute('aria-label', `Mute ${p.name}`);
    mute.addEventListener('click', () => runModeration('mute-participant', p));
    box.append(mute);
    if (p.role !== 'host') {
        const promote = el('button', 'button small', 'Make host');
        promote.type = 'button';
        promote.dataset.action = 'set-host';
        promote.setAttribute('aria-label', `Make ${p.name} the host`);
        promote.addEventListener('click', () => runModeration('set-host', p));
        box.append(promote);
    }
    const remove = el('button', 'button small danger-subtle', 'Remove');
    remove.type = 'button';
    remove.dataset.action = 'remove';
    remove.setAttribute('aria-label', `Remove ${p.name} from the call`);
    remove.addEventListener('click', () => runModeration('remove', p));
    box.append(remove);
    return box;
}

function el(tag, className, text = '') {
    const e = document.createElement(tag);
    e.className = className;
    if (text) e.textContent = text;
    return e;
}

const ICONS = {
    'mic-off': '<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5 11a7 7 0 0 0 14 0M12 18v3M4 4l16 16"/>',
    'cam-off': '<rect x="3" y="6" width="13" height="12" rx="2"/><path d="M16 10l5-3v10l-5-3zM3 3l18 18"/>',
};

function icon(name, label) {
    const span = el('span', `person-icon ${name}`);
    span.title = label;
    span.innerHTML = `<svg viewBox="0 0 24 24" aria-hidden="true">${ICONS[name]}</svg>`;
    span.append(el('span', 'visually-hidden', label));
    return span;
}
