// signup.js — setting up a group in four steps (POST /api/v1/signup/check
// after each, POST /api/v1/signup at the end), then "check your email".
//
// What was typed lives in the form; all but the password and the PIN is
// also kept in sessionStorage, so going back, the browser's Back button and
// a reload keep it. The secrets are never stored: after a reload the page
// asks for them again.

import { request, ApiError, sentence } from './api.js';
import { $, setFieldError, clearErrors, showErrors, setFormMessage, failed, busy, value, focusFirst } from './form.js';
import { el } from './ui.js';
import { initResend } from './resend.js';

const KEY = 'parley.signup';           // the form in progress, without secrets
const DONE_KEY = 'parley.signup.done'; // {groupName, email} once signed up
const REVIEW = 5;                      // the step after the four: review and create
const MIN_PASSWORD = 5;
const MAX_EMAIL = 50;

// The steps' fields, as the API names them.
const STEP_FIELDS = { 1: ['adminName', 'adminEmail'], 2: ['groupName', 'password'], 3: ['pin'], 4: ['members'] };

// state is the page's state, owned by this module.
const state = {
    step: 1,
    reached: 1,   // the furthest step shown; the browser's Forward goes no further
    sentRows: [], // the member rows whose values went into the last request, by index
};

// ---------------------------------------------------------------- storage

function load(key) {
    try { return JSON.parse(sessionStorage.getItem(key) || 'null'); } catch (e) { return null; }
}

function store(key, v) {
    try {
        if (v === null) sessionStorage.removeItem(key);
        else sessionStorage.setItem(key, JSON.stringify(v));
    } catch (e) { /* private mode: nothing kept */ }
}

function save() {
    store(KEY, {
        step: state.step, reached: state.reached,
        adminName: $('adminName').value, adminEmail: $('adminEmail').value, groupName: $('groupName').value,
        members: memberInputs().map((i) => i.value),
    });
}

// ---------------------------------------------------------------- members

function memberInputs() {
    return [...$('members').querySelectorAll('input')];
}

function addMember(v = '') {
    const li = $('member-template').content.firstElementChild.cloneNode(true);
    li.querySelector('input').value = v;
    li.querySelector('.member-remove').addEventListener('click', () => removeMember(li));
    $('members').append(li);
    numberMembers();
    return li.querySelector('input');
}

function removeMember(li) {
    const rows = [...$('members').children];
    const i = rows.indexOf(li);
    if (rows.length === 1) {
        li.querySelector('input').value = '';
        li.querySelector('input').focus();
    } else {
        li.remove();
        const left = memberInputs();
        left[Math.min(i, left.length - 1)].focus();
    }
    numberMembers();
    save();
}

// numberMembers gives each row its ids and words after adding or removing.
function numberMembers() {
    [...$('members').children].forEach((li, i) => {
        const id = `member-${i}`;
        const input = li.querySelector('input');
        const label = li.querySelector('label');
        const err = li.querySelector('.field-error');
        input.id = id;
        input.name = id;
        label.htmlFor = id;
        label.textContent = `Member ${i + 1} email address`;
        err.id = `${id}-error`;
        input.setAttribute('aria-describedby', err.id);
        li.querySelector('.member-remove').setAttribute('aria-label', `Remove member ${i + 1}`);
    });
}

// ---------------------------------------------------------------- checks

/** fieldId is the id of the element that shows an API field's error. */
function fieldId(name) {
    if (name === 'members') return 'members-field';
    const m = /^members\.(\d+)$/.exec(name);
    if (m) {
        const input = state.sentRows[Number(m[1])];
        return input ? input.id : 'members-field';
    }
    return name;
}

/** stepOf is the step where the field with that element id is typed. */
function stepOf(id) {
    if (id === 'members-field' || id.startsWith('member-')) return 4;
    for (const [step, fields] of Object.entries(STEP_FIELDS)) if (fields.includes(id)) return Number(step);
    return 1;
}

function emailProblem(v) {
    if (!/^[^\s@]+@[^\s@]+$/.test(v)) return 'This is not an email address. It should look like name@example.org.';
    if ([...v].length > MAX_EMAIL) return `An email address can have at most ${MAX_EMAIL} characters; this one has ${[...v].length}.`;
    return '';
}

// localErrors are the quick checks of one step, as {element id: words}.
function localErrors(step) {
    const e = {};
    const reloaded = !!state.restored;
    switch (step) {
    case 1:
        if (!value('adminName')) e.adminName = 'Please enter your name.';
        if (!value('adminEmail')) e.adminEmail = 'Please enter your email address.';
        else if (emailProblem(value('adminEmail'))) e.adminEmail = emailProblem(value('adminEmail'));
        break;
    case 2:
        if (!value('groupName')) e.groupName = 'Please enter a name for the group.';
        if (!$('password').value) e.password = reloaded ? 'Please type the password again: it is not kept when the page reloads.' : 'Please choose a password.';
        else if ([...$('password').value].length < MIN_PASSWORD) e.password = `The password is too short: it needs at least ${MIN_PASSWORD} characters.`;
        break;
    case 3: {
        const pin = $('pin').value.trim();
        if (!pin) e.pin = reloaded ? 'Please type the PIN again: it is not kept when the page reloads.' : 'Please choose a PIN.';
        else if (!/^\d+$/.test(pin)) e.pin = 'The PIN can only have digits (0 to 9).';
        else if (pin.length < 4 || pin.length > 8) e.pin = 'The PIN must have 4 to 8 digits.';
        break;
    }
    case 4: {
        const seen = new Map();
        let any = false;
        for (const input of memberInputs()) {
            const v = input.value.trim();
            if (!v) continue;
            any = true;
            const p = emailProblem(v);
            if (p) e[input.id] = p;
            else if (seen.has(v.toLowerCase())) e[input.id] = `This address is already in the list (member ${seen.get(v.toLowerCase()) + 1}).`;
            else seen.set(v.toLowerCase(), memberInputs().indexOf(input));
        }
        if (!any) e['members-field'] = 'Please enter the email address of at least one member.';
        break;
    }
    }
    return e;
}

// body is what the API is sent for the steps up to and including step.
function body(step) {
    const b = {};
    if (step >= 1) { b.adminName = value('adminName'); b.adminEmail = value('adminEmail'); }
    if (step >= 2) { b.groupName = value('groupName'); b.password = $('password').value; }
    if (step >= 3) b.pin = $('pin').value.trim();
    if (step >= 4) {
        state.sentRows = memberInputs().filter((i) => i.value.trim());
        b.members = state.sentRows.map((i) => i.value.trim());
    }
    return b;
}

// showStepErrors shows errors (element id → words) of steps up to the
// current one: it opens the earliest step that has one.
function showStepErrors(errors) {
    const ids = Object.keys(errors);
    if (!ids.length) return false;
    const first = Math.min(...ids.map(stepOf));
    if (first > state.step) { // not a field of these steps: say it in words
        setFormMessage('form-error', ids.map((id) => sentence(errors[id])).join(' '));
        return true;
    }
    if (first !== state.step) goTo(first, { focus: false });
    const here = Object.fromEntries(ids.filter((id) => stepOf(id) === first).map((id) => [id, errors[id]]));
    showErrors(here);
    if (here['members-field']) focusFirst([memberInputs()[0]]);
    return true;
}

// ---------------------------------------------------------------- steps

/** goTo shows a step (1-4, or REVIEW). */
function goTo(step, { focus = true, push = false } = {}) {
    step = Math.max(1, Math.min(step, REVIEW, state.reached));
    state.step = step;
    for (const s of document.querySelectorAll('.step')) s.hidden = Number(s.dataset.step) !== step;
    for (const li of document.querySelectorAll('.progress li')) {
        const n = Number(li.dataset.step);
        li.classList.toggle('done', n < step);
        if (n === step) li.setAttribute('aria-current', 'step');
        else li.removeAttribute('aria-current');
    }
    $('back-button').hidden = step === 1;
    $('next-button').textContent = step === REVIEW ? 'Create group' : step === 4 ? 'Review' : 'Next';
    $('req-note').hidden = step === REVIEW;
    if (step >= 4) $('restore-note').hidden = true; // the secrets are typed again
    setFormMessage('form-error', '');
    if (step === REVIEW) fillReview();
    document.title = `${step === REVIEW ? 'Review' : `Step ${step} of 4`} — Set up a group — Parley`;
    const title = $(`step-${step}-title`);
    $('step-announce').textContent = title.textContent.replace(/^(Step \d of 4|Last step)/, '$1: ');
    if (push) history.pushState({ signupStep: step }, '');
    else history.replaceState({ signupStep: step }, '');
    save();
    if (focus) focusStep();
}

// focusStep puts the cursor where the person types next: the first empty
// field of the step (or its first field), or the review's heading.
function focusStep() {
    const section = $(`step-${state.step}`);
    const inputs = [...section.querySelectorAll('input')];
    const target = inputs.find((i) => !i.value) || inputs[0] || $(`step-${state.step}-title`);
    target.focus();
}

async function next() {
    const step = state.step;
    clearErrors($('signup-form'));
    setFormMessage('form-error', '');
    // The quick checks of this step and every one before it: after a
    // reload (or the browser's Forward), an earlier step may miss its secret.
    const errors = {};
    for (let s = 1; s <= Math.min(step, 4); s++) Object.assign(errors, localErrors(s));
    if (showStepErrors(errors)) return;
    if (step === REVIEW) return create();
    try {
        await busy($('next-button'), 'Checking…', () => request('POST', '/api/v1/signup/check', { step, ...body(step) }));
    } catch (e) {
        serverFailed(e);
        return;
    }
    state.reached = Math.max(state.reached, step + 1);
    goTo(step + 1, { push: true });
}

function serverFailed(e) {
    if (e instanceof ApiError && e.fields && Object.keys(e.fields).length) {
        const mapped = {};
        for (const [name, msg] of Object.entries(e.fields)) mapped[fieldId(name)] = msg;
        showStepErrors(mapped);
        return;
    }
    failed(e, 'form-error');
}

function back() {
    if (state.step <= 1) return;
    clearErrors($('signup-form'));
    goTo(state.step - 1);
}

function fillReview() {
    const dl = $('review');
    dl.replaceChildren();
    const row = (label, val, step) => {
        dl.append(el('div', { class: 'review-row' },
            el('dt', { text: label }),
            el('dd', {}, val),
            el('dd', { class: 'review-edit' }, el('button', {
                type: 'button', class: 'button small subtle', text: 'Change',
                'aria-label': `Change ${label.toLowerCase()}`, onclick: () => goTo(step),
            }))));
    };
    row('Your name', value('adminName'), 1);
    row('Email address', value('adminEmail'), 1);
    row('Group name', value('groupName'), 2);
    row('Password', '•••••••• (hidden)', 2);
    row('Meeting PIN', '•••• (hidden)', 3);
    const members = memberInputs().map((i) => i.value.trim()).filter(Boolean);
    row(members.length === 1 ? 'Member' : `Members (${members.length})`,
        el('ul', { class: 'review-members' }, ...members.map((m) => el('li', { text: m }))), 4);
}

async function create() {
    let res;
    try {
        res = await busy($('next-button'), 'Creating…', () => request('POST', '/api/v1/signup', body(4)));
    } catch (e) {
        serverFailed(e);
        return;
    }
    const done = { groupName: (res.group && res.group.name) || value('groupName'), email: res.activationSentTo || value('adminEmail') };
    store(DONE_KEY, done);
    store(KEY, null);
    showDone(done);
}

// ---------------------------------------------------------------- done

function showDone(done) {
    $('signup-view').hidden = true;
    $('done-view').hidden = false;
    $('done-group').textContent = done.groupName;
    $('done-email').textContent = done.email;
    $('resend-group').value = done.groupName;
    document.title = 'Check your email — Parley';
    $('done-title').focus();
}

// ---------------------------------------------------------------- start

function restore() {
    const saved = load(KEY);
    if (!saved) {
        addMember();
        return 1;
    }
    $('adminName').value = saved.adminName || '';
    $('adminEmail').value = saved.adminEmail || '';
    $('groupName').value = saved.groupName || '';
    const members = Array.isArray(saved.members) && saved.members.length ? saved.members : [''];
    for (const m of members) addMember(String(m));
    state.reached = Math.max(1, Math.min(Number(saved.reached) || 1, REVIEW));
    let step = Math.max(1, Math.min(Number(saved.step) || 1, state.reached));
    // The secrets are gone after a reload: ask for them first.
    if (step > 2) {
        state.restored = true;
        step = 2;
        $('restore-note').textContent = 'We kept what you typed, except the password and the PIN: for your safety they are not kept when the page reloads. Please type them again.';
        $('restore-note').hidden = false;
    }
    return step;
}

function main() {
    const done = load(DONE_KEY);
    if (done) showDone(done);
    $('start-over').addEventListener('click', () => { store(DONE_KEY, null); });
    initResend();

    const step = restore();
    const form = $('signup-form');
    form.addEventListener('submit', (ev) => { ev.preventDefault(); next(); });
    form.addEventListener('input', (ev) => {
        if (ev.target.matches('input')) {
            setFieldError(ev.target.id, '');
            if (ev.target.closest('.members-field')) setFieldError('members-field', '');
        }
        save();
    });
    $('back-button').addEventListener('click', back);
    $('add-member').addEventListener('click', () => { addMember().focus(); save(); });
    for (const b of document.querySelectorAll('.reveal')) {
        b.addEventListener('click', () => {
            const input = $(b.dataset.reveal);
            const shown = input.type === 'text';
            input.type = shown ? 'password' : 'text';
            b.setAttribute('aria-pressed', String(!shown));
            b.textContent = shown ? 'Show' : 'Hide';
        });
    }
    // The browser's Back and Forward move between the steps seen so far.
    addEventListener('popstate', (ev) => {
        const s = ev.state && ev.state.signupStep;
        if (s) { clearErrors(form); goTo(s); }
    });
    goTo(step, { focus: $('done-view').hidden });
}

main();
