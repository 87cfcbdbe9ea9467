// app.js — parley's user interface: the entry point.
//
// The page is drawn by modules by concern: join.js (landing and join
// pages), media.js (camera, microphone, preview), call.js (the call and
// its connection), tiles.js (video tiles and layout), participants.js
// (the list of people) with moderation.js (a host's commands),
// deadline.js (when the call ends), notices.js (the banner and the words
// for errors), dom.js (small helpers), invite.js (More → Invite guest),
// guestcall.js (a guest's call, from pages/guest.js), meetingcall.js (a
// booked meeting's call, from pages/meeting.js) with hostkey.js (Claim
// host with the host key). protocol.js
// does all the talking to the server and never touches the page.

import { initCall } from './call.js';
import { initJoin, initLanding, joinFailed, linkFromPath, showInvalidLink } from './join.js';
import { directCallFromPath, startDirectCall } from './directcall.js';
import { isGuestCallPath, startGuestCall } from './guestcall.js';
import { isMeetingCallPath, startMeetingCall } from './meetingcall.js';

function main() {
    const direct = directCallFromPath(location.pathname);
    if (direct) return startDirectCall(direct); // /call/{id}: a direct call between endpoints
    if (isGuestCallPath(location.pathname)) return startGuestCall(); // /guest/call: a guest, from /g/{token}
    if (isMeetingCallPath(location.pathname)) return startMeetingCall(); // /meeting/call: a booked meeting, from /m/{token}
    const link = linkFromPath(location.pathname);
    initCall({ link, onJoinFailed: joinFailed });
    if (link) {
        initJoin(link);
    } else if (location.pathname.startsWith('/r/')) {
        showInvalidLink();
    } else {
        initLanding();
    }
}

main();
