// meetingcall.js — a booked meeting's call page, /meeting/call: it joins
// with the join token that the meeting link page (pages/meeting.js) kept
// in sessionStorage — never in the URL — as guestcall.js does for a guest.
// Everyone joins as a member; whoever has the host key claims host in the
// list of people (hostkey.js).

import { startTicketCall } from './guestcall.js';

// MEETING_TICKET_KEY: the same key as pages/meeting.js's.
const MEETING_TICKET_KEY = 'parley.meeting.ticket';

/** isMeetingCallPath reports whether pathname is a booked meeting's call page. */
export function isMeetingCallPath(pathname) {
    return /^\/meeting\/call\/?$/.test(pathname);
}

/** startMeetingCall joins the call of the ticket the meeting link page left. */
export function startMeetingCall() {
    return startTicketCall({
        key: MEETING_TICKET_KEY,
        back: /^\/m\/([^/]+)$/,
        backLabel: 'Back to the meeting link',
        alone: 'You are the first here. The others join with the meeting link.',
        missing: ['Open the meeting link again', 'This page joins a booked meeting from its link. Open the link you were sent.'],
        renew: (token, name) => ({
            path: `/api/v1/meetings/${encodeURIComponent(token)}/join`, body: { name },
            refused: 'The meeting link no longer admits you.',
        }),
    });
}
