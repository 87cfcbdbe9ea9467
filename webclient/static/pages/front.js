// front.js — the front page: set up a group, sign in, or join with a link.

import { $, setFieldError } from './form.js';
import { linkFromInput } from './link.js';

function main() {
    $('link-input').addEventListener('input', () => setFieldError('link-input', ''));
    $('link-form').addEventListener('submit', (ev) => {
        ev.preventDefault();
        const raw = $('link-input').value;
        const id = linkFromInput(raw);
        if (!id) {
            setFieldError('link-input', raw.trim()
                ? 'That is not a room link. Paste the whole link you were sent, for example https://example.org/r/abc123.'
                : 'Paste the room link you were sent, for example https://example.org/r/abc123.');
            $('link-input').focus();
            return;
        }
        location.assign(`/r/${encodeURIComponent(id)}`);
    });
}

main();
