package store

import (
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// The database holds one bucket per entity, keyed by the entity's random ID
// and holding its JSON, plus index buckets mapping another unique key to
// that ID. An index is always written in the same transaction as its record.
//
// Schema version 1:
//
//	meta           "schema_version" → decimal ASCII ("1")
//	               "signing_key"    → 32 random bytes (HS256 key for join tokens)
//	               "public_url"     → base URL the server serves links on
//	rooms          room ID → rooms.Room JSON
//	rooms_by_name  rooms.NameKey(name) → room ID
//	rooms_by_link  link → room ID
//
// Schema version 2 adds:
//
//	outbox         mail ID → rooms.Mail JSON (queued and sent messages)
//	outbox_due     8-byte big-endian Unix nanoseconds of NextAttempt + mail ID
//	               → empty, for each queued message (DueMail walks it in order)
//
// Schema version 3 adds groups and their endpoints (issue #12):
//
//	groups               group ID → rooms.Group JSON (password and PIN as hashes)
//	groups_by_name       rooms.GroupKey(name) → group ID
//	groups_by_activation rooms.TokenHash(activation token) → group ID
//	endpoints            endpoint ID → rooms.Endpoint JSON (secret as a hash)
//	endpoints_by_group   group ID + "/" + endpoint ID → empty
//	endpoints_by_address rooms.AddressKey(address) → endpoint ID
//	endpoints_by_email   rooms.EmailKey(member e-mail) → endpoint ID
//	rooms_by_group       group ID + "/" + rooms.NameKey(name) → room ID
//
// A group's rooms are in rooms and rooms_by_link like any room, but not in
// rooms_by_name: their names are unique within their group only
// (rooms_by_group), so the operator's by-name commands see only the
// operator's rooms. Rooms made before schema 3 have no group: nothing to
// backfill.
//
// Schema version 4 adds guest links (issue #13):
//
//	guest_links          rooms.TokenHash(guest token) → rooms.GuestLink JSON
//	guest_links_by_id    guest link ID → token hash
//	guest_links_by_room  room ID + "/" + guest link ID → token hash
//
// A group room's member list is a field of its record (rooms.Room.Members):
// rooms from before schema 4 have none, which means every endpoint of the
// group, as before; nothing to backfill.
//
// Schema version 5 adds invitations to a call and the SMS outbox (issue #13):
//
//	invitations           invitation ID → rooms.Invitation JSON
//	invitations_by_room   room ID + "/" + 8-byte big-endian Unix nanoseconds of
//	                      CreatedAt + invitation ID → empty (listing, newest
//	                      first, and the per-room rate limit)
//	invitations_by_member rooms.Invitation.Inviter key + "/" + the same time + ID
//	                      → empty (the per-member rate limit)
//	sms_outbox            text message ID → rooms.TextMessage JSON
//	sms_outbox_due        as outbox_due, for each queued text message
//
// Schema version 6 adds meeting accounts and their bookings (issue #14):
//
//	accounts           account ID → bookings.Account JSON
//	accounts_by_name   rooms.NameKey(name) → account ID
//	series             series ID → bookings.Series JSON (recurrence, exceptions,
//	                   links with their host keys as hashes)
//	series_by_account  account ID + "/" + series ID → empty
//	series_by_group    group ID + "/" + series ID → empty
//	series_by_link     link token → series ID, one entry per bookings.Link
//	booking_settings   "settings" → bookings.Settings JSON
//
// Series are few (a handful of groups, each with a series or two), so the
// gap rule is decided on all live series read in the booking's own write
// transaction rather than on a time index.
//
// Secrets (passwords, PINs, host keys) are stored only as auth.HashSecret
// strings; guest tokens only as hashes, so a leaked backup does not admit
// anyone.
var (
	bucketMeta        = []byte("meta")
	bucketRooms       = []byte("rooms")
	bucketRoomsByName = []byte("rooms_by_name")
	bucketRoomsByLink = []byte("rooms_by_link")
	bucketOutbox      = []byte("outbox")
	bucketOutboxDue   = []byte("outbox_due")

	bucketGroups             = []byte("groups")
	bucketGroupsByName       = []byte("groups_by_name")
	bucketGroupsByActivation = []byte("groups_by_activation")
	bucketEndpoints          = []byte("endpoints")
	bucketEndpointsByGroup   = []byte("endpoints_by_group")
	bucketEndpointsByAddress = []byte("endpoints_by_address")
	bucketEndpointsByEmail   = []byte("endpoints_by_email")
	bucketRoomsByGroup       = []byte("rooms_by_group")

	bucketGuestLinks       = []byte("guest_links")
	bucketGuestLinksByID   = []byte("guest_links_by_id")
	bucketGuestLinksByRoom = []byte("guest_links_by_room")

	bucketInvitations         = []byte("invitations")
	bucketInvitationsByRoom   = []byte("invitations_by_room")
	bucketInvitationsByMember = []byte("invitations_by_member")
	bucketSMSOutbox           = []byte("sms_outbox")
	bucketSMSOutboxDue        = []byte("sms_outbox_due")

	bucketAccounts        = []byte("accounts")
	bucketAccountsByName  = []byte("accounts_by_name")
	bucketSeries          = []byte("series")
	bucketSeriesByAccount = []byte("series_by_account")
	bucketSeriesByGroup   = []byte("series_by_group")
	bucketSeriesByLink    = []byte("series_by_link")
	bucketBookingSettings = []byte("booking_settings")

	keySchemaVersion = []byte("schema_version")
	keySigningKey    = []byte("signing_key")
	keyPublicURL     = []byte("public_url")
)

// migrations bring the schema from version i to i+1 at index i. They run in
// order, all in one write transaction at Open, so a failure leaves the file
// as it was. Append only; never edit or reorder a released migration.
var migrations = []func(tx *bolt.Tx) error{
	// 0 → 1: the initial buckets.
	func(tx *bolt.Tx) error {
		return createBuckets(tx, bucketMeta, bucketRooms, bucketRoomsByName, bucketRoomsByLink)
	},
	// 1 → 2: the outbox of outgoing mail, and its index of queued
	// messages by due time.
	func(tx *bolt.Tx) error { return createBuckets(tx, bucketOutbox, bucketOutboxDue) },
	// 2 → 3: groups, their endpoints and the group rooms index.
	func(tx *bolt.Tx) error {
		return createBuckets(tx, bucketGroups, bucketGroupsByName, bucketGroupsByActivation,
			bucketEndpoints, bucketEndpointsByGroup, bucketEndpointsByAddress, bucketEndpointsByEmail,
			bucketRoomsByGroup)
	},
	// 3 → 4: guest links.
	func(tx *bolt.Tx) error {
		return createBuckets(tx, bucketGuestLinks, bucketGuestLinksByID, bucketGuestLinksByRoom)
	},
	// 4 → 5: invitations to a call, and the SMS outbox.
	func(tx *bolt.Tx) error {
		return createBuckets(tx, bucketInvitations, bucketInvitationsByRoom, bucketInvitationsByMember,
			bucketSMSOutbox, bucketSMSOutboxDue)
	},
	// 5 → 6: meeting accounts, booked series and their indexes, the
	// coordinator's settings.
	func(tx *bolt.Tx) error {
		return createBuckets(tx, bucketAccounts, bucketAccountsByName, bucketSeries, bucketSeriesByAccount,
			bucketSeriesByGroup, bucketSeriesByLink, bucketBookingSettings)
	},
}

// currentVersion is the schema version this build writes.
func currentVersion() int { return len(migrations) }

func createBuckets(tx *bolt.Tx, names ...[]byte) error {
	for _, name := range names {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// migrate runs the migrations the file has not yet had.
func migrate(tx *bolt.Tx) error {
	v, err := schemaVersion(tx)
	if err != nil {
		return err
	}
	if v > currentVersion() {
		return fmt.Errorf("%w: file has schema version %d, this build knows up to %d", ErrSchemaTooNew, v, currentVersion())
	}
	if v == currentVersion() {
		return nil
	}
	for i := v; i < currentVersion(); i++ {
		if err := migrations[i](tx); err != nil {
			return fmt.Errorf("migrate schema %d to %d: %w", i, i+1, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	if err := meta.Put(keySchemaVersion, []byte(strconv.Itoa(currentVersion()))); err != nil {
		return fmt.Errorf("record schema version: %w", err)
	}
	return nil
}

// schemaVersion reads the version inside tx; 0 for a new, empty file.
func schemaVersion(tx *bolt.Tx) (int, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0, nil
	}
	raw := meta.Get(keySchemaVersion)
	if raw == nil {
		return 0, nil
	}
	v, err := strconv.Atoi(string(raw))
	if err != nil || v < 0 {
		return 0, fmt.Errorf("corrupt schema version %q in meta bucket", raw)
	}
	return v, nil
}
