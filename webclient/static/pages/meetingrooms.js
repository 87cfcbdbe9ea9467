// meetingrooms.js — the "Meeting Rooms" list of /group and /endpoint:
// select or search for a room (the list filters as you type); selecting
// one opens its action menu: "Copy meeting room link" (the room's
// standing guest link, docs/api.md "Guest links"; a banner confirms the
// copy, and where the browser refuses the clipboard the link is shown,
// selected, for copying by hand), "Revoke guest link", and for group
// users "Members" (the room's member list, picked from the group's
// endpoints).

import { request, describe } from './api.js';
import { $ } from './form.js';
import { el, confirmAction } from './ui.js';

const BANNER_MS = 5000;

/**
 * initMeetingRooms wires the search field and returns {row, filter}: the
 * page builds each room's li with row(room, parts…), then calls filter()
 * after drawing the list.
 *
 * opts: base — the rooms' API path ("/api/v1/group/rooms" or
 * "/api/v1/endpoint/rooms"); endpoints — for group users, an async
 * function giving the group's endpoints [{id, name, address, kind}] (the
 * Members action appears only with it); onSignedOut(message) — a 401;
 * reload — draws the list again after a change.
 */
export function initMeetingRooms({ base, endpoints = null, onSignedOut = () => {}, reload = () => {} }) {
    // The room whose menu is open, the search text, the guest links copied (room id -> url).
    const state = { open: '', query: '', links: new Map() };
    const search = $('room-search');
    search.addEventListener('input', () => { state.query = search.value; filter(); });
    search.addEventListener('keydown', (ev) => {
        if (ev.key !== 'Enter') return;
        ev.preventDefault();
        const shown = visibleRows();
        // The focus stays in the search: the Enter must not reach the menu's first button.
        if (shown.length === 1) toggle(shown[0].dataset.id, true, false);
    });
    document.body.append(el('div', { id: 'rooms-banner', class: 'rooms-banner', role: 'status', 'aria-live': 'polite', hidden: true }));
    if (endpoints) document.body.append(membersDialog());

    function visibleRows() {
        return [...document.querySelectorAll('#room-list > .room')].filter((li) => !li.hidden);
    }

    /** filter shows the rooms whose name has the search text, and says when none has. */
    function filter() {
        const q = state.query.trim().toLowerCase();
        const rows = [...document.querySelectorAll('#room-list > .room')];
        for (const li of rows) li.hidden = !!q && !li.dataset.name.toLowerCase().includes(q);
        const none = $('rooms-nomatch');
        none.textContent = q ? `No meeting room has “${state.query.trim()}” in its name.` : '';
        none.hidden = !q || rows.length === 0 || visibleRows().length > 0;
        $('room-search-row').hidden = rows.length === 0;
        const open = rows.find((li) => li.dataset.id === state.open);
        if (!open || open.hidden) state.open = '';
        for (const li of rows) setOpen(li, li.dataset.id === state.open);
    }

    function setOpen(li, open) {
        li.classList.toggle('selected', open);
        li.querySelector('.room-select').setAttribute('aria-expanded', String(open));
        li.querySelector('.room-menu').hidden = !open;
    }

    function toggle(id, open, focus = true) {
        state.open = open ? id : '';
        for (const li of document.querySelectorAll('#room-list > .room')) setOpen(li, li.dataset.id === state.open);
        if (open && focus) {
            const first = document.querySelector(`#room-list > .room[data-id="${CSS.escape(id)}"] .room-menu button`);
            if (first) first.focus();
        }
    }

    /** row is a room's li: its name selects it (the action menu opens), then parts, then the menu. */
    function row(room, { actions = null, extra = null } = {}) {
        const menuId = `room-menu-${room.id}`;
        // Group users see how many members each room has (an empty list, left
        // out of the answer, makes every endpoint of the group a member).
        const members = Array.isArray(room.members) ? room.members.length : endpoints ? 0 : null;
        const select = el('button', {
            type: 'button', class: 'room-select', 'aria-expanded': 'false', 'aria-controls': menuId,
            onclick: () => toggle(room.id, state.open !== room.id),
        },
        el('span', { class: 'room-label' },
            el('span', { class: 'room-name', text: room.name }),
            members === null ? null : el('span', { class: 'room-members muted', text: memberCount(members) })));
        select.insertAdjacentHTML('beforeend', '<svg class="chevron" viewBox="0 0 24 24" aria-hidden="true"><path d="M8 10l4 4 4-4"/></svg>');
        const out = el('div', { class: 'room-link-out', hidden: true });
        const menu = el('div', { id: menuId, class: 'room-menu', role: 'group', 'aria-label': `Actions for ${room.name}`, hidden: true },
            el('button', { type: 'button', class: 'button small menu-copy', text: 'Copy meeting room link', onclick: () => copyGuestLink(room, out) }),
            endpoints ? el('button', { type: 'button', class: 'button small subtle menu-members', text: 'Members', onclick: () => editMembers(room) }) : null,
            el('button', { type: 'button', class: 'button small subtle danger-text menu-revoke', text: 'Revoke guest link', onclick: () => revokeGuestLink(room, out) }),
            out);
        return el('li', { class: 'room', 'data-id': room.id, 'data-name': room.name, 'data-guest-link': state.links.get(room.id) },
            el('div', { class: 'room-head' }, select, actions),
            extra, menu);
    }

    async function copyGuestLink(room, out) {
        out.hidden = true;
        let url;
        try {
            const res = await request('POST', `${base}/${encodeURIComponent(room.id)}/guest-link`);
            url = res.url || '';
        } catch (e) {
            if (e.status === 401) { onSignedOut(); return; }
            banner(describe(e), 'error');
            return;
        }
        state.links.set(room.id, url);
        out.closest('.room').dataset.guestLink = url;
        try {
            await navigator.clipboard.writeText(url);
            banner('The meeting room link has been copied. Paste it into an email, letter, chat or text message to your guest.', 'ok');
            return;
        } catch (e) {
            // The browser refused the clipboard (no permission, or not a secure page): show the link selected.
        }
        const input = el('input', { type: 'text', readonly: true, value: url, class: 'room-link guest-link', 'aria-label': `Meeting room link of ${room.name}` });
        out.replaceChildren(
            el('p', { class: 'hint', text: 'This browser did not let the page copy. The link is selected: copy it with Ctrl+C (⌘C on a Mac).' }),
            input);
        out.hidden = false;
        input.focus();
        input.select();
    }

    async function revokeGuestLink(room, out) {
        const ok = await confirmAction(`Revoke the guest link of ${room.name}?`,
            'Guests can no longer join with the meeting room link you shared. The next “Copy meeting room link” makes a new one. Invitations sent by email or text message keep working.',
            'Revoke guest link');
        if (!ok) return;
        try {
            await request('DELETE', `${base}/${encodeURIComponent(room.id)}/guest-link`);
        } catch (e) {
            if (e.status === 401) { onSignedOut(); return; }
            if (e.status !== 404) { banner(describe(e), 'error'); return; }
        }
        out.hidden = true;
        state.links.delete(room.id);
        delete out.closest('.room').dataset.guestLink;
        banner(`The guest link of ${room.name} is revoked: it no longer admits anyone.`, 'ok');
    }

    // ------------------------------------------------------------ members (group users)

    function membersDialog() {
        const d = el('dialog', { id: 'members-dialog', class: 'dialog members-dialog', 'aria-labelledby': 'members-title' });
        d.innerHTML = `<h2 id="members-title">Members</h2>
<p class="muted" id="members-text">Members see the room on their endpoint page, join it as members and may invite guests to it. With none picked, every endpoint of the group is a member.</p>
<form id="members-form" novalidate>
  <fieldset class="member-picks"><legend class="visually-hidden">The group’s endpoints</legend><ul id="members-list" class="member-picks-list"></ul></fieldset>
  <p id="members-error" class="field-error" role="alert" hidden></p>
  <div class="row end">
    <button type="button" class="button subtle" id="members-cancel">Cancel</button>
    <button type="submit" class="button primary" id="members-save">Save members</button>
  </div>
</form>`;
        d.querySelector('#members-cancel').addEventListener('click', () => d.close());
        return d;
    }

    async function editMembers(room) {
        const d = $('members-dialog');
        $('members-title').textContent = `Members of ${room.name}`;
        $('members-error').hidden = true;
        let list;
        try {
            list = await endpoints();
        } catch (e) {
            if (e.status === 401) { onSignedOut(); return; }
            banner(describe(e), 'error');
            return;
        }
        // An empty list is everyone: all are shown picked.
        const all = !Array.isArray(room.members) || room.members.length === 0;
        const chosen = new Set(all ? list.map((ep) => ep.id) : room.members);
        $('members-list').replaceChildren(...list.map((ep) => {
            const id = `member-pick-${ep.id}`;
            return el('li', { class: 'member-pick' },
                el('input', { type: 'checkbox', id, value: ep.id, checked: chosen.has(ep.id) }),
                el('label', { for: id },
                    el('span', { class: 'member-pick-name', text: ep.name || ep.address }),
                    el('span', { class: 'muted small-text', text: [ep.address, ep.kind === 'room-system' ? 'room system' : ''].filter(Boolean).join(' · ') })));
        }));
        if (!list.length) $('members-list').replaceChildren(el('li', { class: 'muted', text: 'The group has no endpoints yet. Its administrator adds them in the console.' }));
        const form = $('members-form');
        form.onsubmit = async (ev) => {
            ev.preventDefault();
            const members = [...form.querySelectorAll('input[type=checkbox]:checked')].map((c) => c.value);
            try {
                await request('PUT', `${base}/${encodeURIComponent(room.id)}/members`, { members });
            } catch (e) {
                if (e.status === 401) { d.close(); onSignedOut(); return; }
                $('members-error').textContent = describe(e);
                $('members-error').hidden = false;
                return;
            }
            d.close();
            banner(members.length ? `${room.name} has ${memberCount(members.length)}.` : `Every endpoint of the group is a member of ${room.name}.`, 'ok');
            await reload();
        };
        d.showModal();
        const first = form.querySelector('input');
        if (first) first.focus();
    }

    /** open is the id of the room whose action menu is open, or "". */
    const open = () => state.open;
    return { row, filter, open };
}

function memberCount(n) {
    if (n === 0) return 'All endpoints';
    return n === 1 ? '1 member' : `${n} members`;
}

let bannerTimer = null;

/** banner shows a short message fixed at the top of the page (the copy's confirmation). */
export function banner(text, kind = 'ok') {
    const b = $('rooms-banner');
    clearTimeout(bannerTimer);
    b.textContent = text;
    b.dataset.kind = kind;
    b.hidden = false;
    bannerTimer = setTimeout(() => { b.hidden = true; }, kind === 'error' ? BANNER_MS * 2 : BANNER_MS);
}
