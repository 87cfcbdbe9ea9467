// rooms.js — how the group pages show a room: its link as an absolute URL.

/** roomURL is the room's join link: the server's url, or /r/{link} on this origin. */
export function roomURL(room) {
    if (room.url) return room.url;
    return `${location.origin}/r/${encodeURIComponent(room.link || '')}`;
}

/** roomsOf reads the rooms from a reply that is a list or {rooms: [...]}. */
export function roomsOf(res) {
    if (Array.isArray(res)) return res;
    return (res && Array.isArray(res.rooms)) ? res.rooms : [];
}
