package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/parley-dev/parley/rooms"
	bolt "go.etcd.io/bbolt"
)

var _ rooms.GroupStore = (*DB)(nil)

// CreateGroup stores a new pending group with its members and mails in one
// transaction. See rooms.GroupStore.
func (db *DB) CreateGroup(ctx context.Context, g *rooms.Group, members []*rooms.Endpoint, mails []*rooms.Mail) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: create group: %w", err)
	}
	if g == nil || g.ID == "" || g.Slug == "" || g.Slug != rooms.GroupKey(g.Name) {
		return fmt.Errorf("store: create group: ID and a slug matching the name are required (use rooms.NewGroup)")
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketGroupsByName).Get([]byte(g.Slug)) != nil {
			return fmt.Errorf("%q: %w", g.Name, rooms.ErrGroupExists)
		}
		if tx.Bucket(bucketGroups).Get([]byte(g.ID)) != nil {
			return fmt.Errorf("id %q: %w", g.ID, rooms.ErrGroupExists)
		}
		if err := putGroup(tx, g, true); err != nil {
			return err
		}
		gt := &groupTx{tx: tx, g: g}
		for _, ep := range members {
			if err := gt.AddEndpoint(ep); err != nil {
				return err
			}
		}
		for _, m := range mails {
			if err := db.queueMail(tx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: create group: %w", err)
	}
	return nil
}

// Group returns the group with this ID.
func (db *DB) Group(ctx context.Context, id string) (*rooms.Group, error) {
	return db.lookupGroup(ctx, "group "+id, func(*bolt.Tx) []byte { return []byte(id) })
}

// GroupByName returns the group whose rooms.GroupKey matches name's.
func (db *DB) GroupByName(ctx context.Context, name string) (*rooms.Group, error) {
	return db.lookupGroup(ctx, fmt.Sprintf("group named %q", name), func(tx *bolt.Tx) []byte {
		return tx.Bucket(bucketGroupsByName).Get([]byte(rooms.GroupKey(name)))
	})
}

// GroupByActivation returns the group whose activation token has this hash.
func (db *DB) GroupByActivation(ctx context.Context, tokenHash string) (*rooms.Group, error) {
	return db.lookupGroup(ctx, "group by activation link", func(tx *bolt.Tx) []byte {
		return tx.Bucket(bucketGroupsByActivation).Get([]byte(tokenHash))
	})
}

func (db *DB) lookupGroup(ctx context.Context, what string, findID func(*bolt.Tx) []byte) (*rooms.Group, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	var g *rooms.Group
	err := db.bolt.View(func(tx *bolt.Tx) error {
		id := findID(tx)
		if len(id) == 0 {
			return rooms.ErrGroupNotFound
		}
		var err error
		g, err = getGroup(tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return g, nil
}

// Groups returns every group sorted by rooms.GroupKey.
func (db *DB) Groups(ctx context.Context) ([]*rooms.Group, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: list groups: %w", err)
	}
	out := []*rooms.Group{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketGroupsByName).ForEach(func(_, id []byte) error {
			g, err := getGroup(tx, id)
			if err != nil {
				return err
			}
			out = append(out, g)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: list groups: %w", err)
	}
	return out, nil
}

// UpdateGroup runs fn on the group inside one write transaction.
func (db *DB) UpdateGroup(ctx context.Context, id string, fn func(tx rooms.GroupTx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: update group %s: %w", id, err)
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		g, err := getGroup(tx, []byte(id))
		if err != nil {
			return err
		}
		return fn(&groupTx{tx: tx, g: g, db: db})
	})
	if err != nil {
		return fmt.Errorf("store: update group %s: %w", id, err)
	}
	return nil
}

// DeleteGroup removes the group, its endpoints, its rooms and their index
// entries, returning the removed rooms' IDs.
func (db *DB) DeleteGroup(ctx context.Context, id string, check func(*rooms.Group) error) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: delete group %s: %w", id, err)
	}
	var roomIDs []string
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		g, err := getGroup(tx, []byte(id))
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(g); err != nil {
				return err
			}
		}
		gt := &groupTx{tx: tx, g: g}
		eps, err := gt.Endpoints()
		if err != nil {
			return err
		}
		for _, ep := range eps {
			if err := gt.DeleteEndpoint(ep.ID); err != nil {
				return err
			}
		}
		rms, err := gt.Rooms()
		if err != nil {
			return err
		}
		for _, r := range rms {
			if err := gt.DeleteRoom(r.ID); err != nil {
				return err
			}
			roomIDs = append(roomIDs, r.ID)
		}
		if err := deleteIfPointsAt(tx.Bucket(bucketGroupsByName), g.Slug, id); err != nil {
			return err
		}
		if g.ActivationHash != "" {
			if err := deleteIfPointsAt(tx.Bucket(bucketGroupsByActivation), g.ActivationHash, id); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketGroups).Delete([]byte(id))
	})
	if err != nil {
		return nil, fmt.Errorf("store: delete group %s: %w", id, err)
	}
	return roomIDs, nil
}

// GroupRooms returns the group's rooms sorted by rooms.NameKey.
func (db *DB) GroupRooms(ctx context.Context, groupID string) ([]*rooms.Room, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: rooms of group %s: %w", groupID, err)
	}
	var out []*rooms.Room
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		out, err = (&groupTx{tx: tx, g: &rooms.Group{ID: groupID}}).Rooms()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: rooms of group %s: %w", groupID, err)
	}
	return out, nil
}

// putGroup writes g and, if fresh, its name index; it keeps the
// activation index in step with g.ActivationHash.
func putGroup(tx *bolt.Tx, g *rooms.Group, fresh bool) error {
	b := tx.Bucket(bucketGroups)
	idKey := []byte(g.ID)
	byAct := tx.Bucket(bucketGroupsByActivation)
	if !fresh {
		old, err := getGroup(tx, idKey)
		if err != nil {
			return err
		}
		if old.Slug != g.Slug || rooms.GroupKey(g.Name) != g.Slug {
			return fmt.Errorf("group %s: the name key cannot change (%q to %q)", g.ID, old.Slug, rooms.GroupKey(g.Name))
		}
		if old.ActivationHash != "" && old.ActivationHash != g.ActivationHash {
			if err := deleteIfPointsAt(byAct, old.ActivationHash, g.ID); err != nil {
				return err
			}
		}
	} else if err := tx.Bucket(bucketGroupsByName).Put([]byte(g.Slug), idKey); err != nil {
		return err
	}
	if g.ActivationHash != "" {
		if err := byAct.Put([]byte(g.ActivationHash), idKey); err != nil {
			return err
		}
	}
	val, err := json.Marshal(g)
	if err != nil {
		return fmt.Errorf("encode group %s: %w", g.ID, err)
	}
	return b.Put(idKey, val)
}

func getGroup(tx *bolt.Tx, id []byte) (*rooms.Group, error) {
	val := tx.Bucket(bucketGroups).Get(id)
	if val == nil {
		return nil, rooms.ErrGroupNotFound
	}
	g := new(rooms.Group)
	if err := json.Unmarshal(val, g); err != nil {
		return nil, fmt.Errorf("decode group %s: %w", id, err)
	}
	return g, nil
}

// deleteIfPointsAt removes key from an index bucket if it maps to id, so
// a damaged index cannot make us delete another record's entry.
func deleteIfPointsAt(b *bolt.Bucket, key, id string) error {
	if string(b.Get([]byte(key))) == id {
		return b.Delete([]byte(key))
	}
	return nil
}

// groupTx implements rooms.GroupTx on a bbolt write (or, for reads, view)
// transaction.
type groupTx struct {
	tx *bolt.Tx
	g  *rooms.Group
	db *DB // for PutMail's OnMailQueued; nil where nothing is mailed
}

func (t *groupTx) Group() *rooms.Group { g := *t.g; return &g }

func (t *groupTx) PutGroup(g *rooms.Group) error {
	if g.ID != t.g.ID {
		return fmt.Errorf("group %s: PutGroup of another group %s", t.g.ID, g.ID)
	}
	if err := putGroup(t.tx, g, false); err != nil {
		return err
	}
	c := *g
	t.g = &c
	return nil
}

func (t *groupTx) Endpoints() ([]*rooms.Endpoint, error) {
	var out []*rooms.Endpoint
	prefix := []byte(t.g.ID + "/")
	c := t.tx.Bucket(bucketEndpointsByGroup).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		ep, err := getEndpoint(t.tx, k[len(prefix):])
		if err != nil {
			return nil, err
		}
		out = append(out, ep)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out, nil
}

func (t *groupTx) Endpoint(id string) (*rooms.Endpoint, error) {
	ep, err := getEndpoint(t.tx, []byte(id))
	if err != nil {
		return nil, err
	}
	if ep.GroupID != t.g.ID {
		return nil, fmt.Errorf("endpoint %s: %w", id, rooms.ErrEndpointNotFound)
	}
	return ep, nil
}

// maxAddressTries bounds the "-2", "-3", ... suffixes tried for a free
// address (a group has at most a few hundred endpoints).
const maxAddressTries = 1000

func (t *groupTx) AddEndpoint(ep *rooms.Endpoint) error {
	if ep == nil || ep.ID == "" || (ep.Kind != rooms.EndpointMember && ep.Kind != rooms.EndpointRoomSystem) {
		return fmt.Errorf("endpoint: ID and kind are required (use rooms.NewMember or rooms.NewRoomSystem)")
	}
	ep.GroupID = t.g.ID
	idKey := []byte(ep.ID)
	if t.tx.Bucket(bucketEndpoints).Get(idKey) != nil {
		return fmt.Errorf("endpoint id %s already exists", ep.ID)
	}
	if ep.Kind == rooms.EndpointMember {
		byEmail := t.tx.Bucket(bucketEndpointsByEmail)
		key := []byte(rooms.EmailKey(ep.Name))
		if byEmail.Get(key) != nil {
			return &rooms.EmailTakenError{Email: ep.Name}
		}
		if err := byEmail.Put(key, idKey); err != nil {
			return err
		}
	}
	byAddr := t.tx.Bucket(bucketEndpointsByAddress)
	local := ep.AddressLocal()
	ep.Address = ""
	for i := 1; i <= maxAddressTries; i++ {
		addr := local + "@" + t.g.Slug
		if i > 1 {
			addr = fmt.Sprintf("%s-%d@%s", local, i, t.g.Slug)
		}
		if byAddr.Get([]byte(addr)) == nil {
			ep.Address = addr
			break
		}
	}
	if ep.Address == "" {
		return fmt.Errorf("endpoint %s: no free address for %q", ep.ID, local)
	}
	if err := byAddr.Put([]byte(ep.Address), idKey); err != nil {
		return err
	}
	if err := t.tx.Bucket(bucketEndpointsByGroup).Put([]byte(t.g.ID+"/"+ep.ID), nil); err != nil {
		return err
	}
	return putEndpoint(t.tx, ep)
}

func (t *groupTx) PutEndpoint(ep *rooms.Endpoint) error {
	old, err := t.Endpoint(ep.ID)
	if err != nil {
		return err
	}
	if old.Kind != ep.Kind || old.Name != ep.Name || old.Address != ep.Address || ep.GroupID != old.GroupID {
		return fmt.Errorf("endpoint %s: kind, name, address and group cannot change", ep.ID)
	}
	return putEndpoint(t.tx, ep)
}

func (t *groupTx) DeleteEndpoint(id string) error {
	ep, err := t.Endpoint(id)
	if err != nil {
		return err
	}
	if ep.Kind == rooms.EndpointMember {
		if err := deleteIfPointsAt(t.tx.Bucket(bucketEndpointsByEmail), rooms.EmailKey(ep.Name), id); err != nil {
			return err
		}
	}
	if err := deleteIfPointsAt(t.tx.Bucket(bucketEndpointsByAddress), ep.Address, id); err != nil {
		return err
	}
	if err := t.tx.Bucket(bucketEndpointsByGroup).Delete([]byte(t.g.ID + "/" + id)); err != nil {
		return err
	}
	if err := t.dropMember(id); err != nil {
		return err
	}
	return t.tx.Bucket(bucketEndpoints).Delete([]byte(id))
}

// dropMember takes the endpoint off the member lists of the group's rooms
// (a list it was alone on is left empty: open to every endpoint).
func (t *groupTx) dropMember(id string) error {
	rms, err := t.Rooms()
	if err != nil {
		return err
	}
	for _, r := range rms {
		if !slices.Contains(r.Members, id) {
			continue
		}
		r.Members = slices.DeleteFunc(r.Members, func(m string) bool { return m == id })
		if err := putRoomRecord(t.tx, r); err != nil {
			return err
		}
	}
	return nil
}

// putRoomRecord rewrites an existing room's record (not its indexes).
func putRoomRecord(tx *bolt.Tx, r *rooms.Room) error {
	val, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode room %s: %w", r.ID, err)
	}
	return tx.Bucket(bucketRooms).Put([]byte(r.ID), val)
}

func (t *groupTx) Rooms() ([]*rooms.Room, error) {
	out := []*rooms.Room{}
	prefix := []byte(t.g.ID + "/")
	c := t.tx.Bucket(bucketRoomsByGroup).Cursor()
	for k, id := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, id = c.Next() {
		r, err := getRoom(t.tx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (t *groupTx) CreateRoom(r *rooms.Room) error {
	if r == nil || r.ID == "" || r.Link == "" {
		return fmt.Errorf("room: ID and link are required (use rooms.New)")
	}
	name, err := rooms.ValidateName(r.Name)
	if err != nil {
		return err
	}
	if name != r.Name {
		return fmt.Errorf("%w: %q is not normalised (want %q)", rooms.ErrInvalidName, r.Name, name)
	}
	r.GroupID = t.g.ID
	nameKey := []byte(t.g.ID + "/" + rooms.NameKey(r.Name))
	idKey, linkKey := []byte(r.ID), []byte(r.Link)
	b, byGroup, byLink := t.tx.Bucket(bucketRooms), t.tx.Bucket(bucketRoomsByGroup), t.tx.Bucket(bucketRoomsByLink)
	switch {
	case byGroup.Get(nameKey) != nil:
		return fmt.Errorf("name %q: %w", r.Name, rooms.ErrRoomExists)
	case b.Get(idKey) != nil:
		return fmt.Errorf("id %q: %w", r.ID, rooms.ErrRoomExists)
	case byLink.Get(linkKey) != nil:
		return fmt.Errorf("link collision: %w", rooms.ErrRoomExists)
	}
	val, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode room: %w", err)
	}
	if err := b.Put(idKey, val); err != nil {
		return err
	}
	if err := byGroup.Put(nameKey, idKey); err != nil {
		return err
	}
	return byLink.Put(linkKey, idKey)
}

func (t *groupTx) DeleteRoom(id string) error {
	r, err := getRoom(t.tx, []byte(id))
	if err != nil {
		return err
	}
	if r.GroupID != t.g.ID {
		return fmt.Errorf("room %s: %w", id, rooms.ErrRoomNotFound)
	}
	if err := deleteIfPointsAt(t.tx.Bucket(bucketRoomsByGroup), t.g.ID+"/"+rooms.NameKey(r.Name), id); err != nil {
		return err
	}
	if err := deleteIfPointsAt(t.tx.Bucket(bucketRoomsByLink), r.Link, id); err != nil {
		return err
	}
	if err := deleteRoomGuestLinks(t.tx, id); err != nil {
		return err
	}
	return t.tx.Bucket(bucketRooms).Delete([]byte(id))
}

func (t *groupTx) SetRoomMembers(roomID string, endpointIDs []string) (*rooms.Room, error) {
	r, err := getRoom(t.tx, []byte(roomID))
	if err != nil {
		return nil, err
	}
	if r.GroupID != t.g.ID {
		return nil, fmt.Errorf("room %s: %w", roomID, rooms.ErrRoomNotFound)
	}
	members := []string{}
	seen := map[string]bool{}
	for _, id := range endpointIDs {
		if seen[id] {
			continue
		}
		if _, err := t.Endpoint(id); err != nil {
			return nil, fmt.Errorf("member %q: %w", id, rooms.ErrNotGroupEndpoint)
		}
		seen[id] = true
		members = append(members, id)
	}
	r.Members = members
	return r, putRoomRecord(t.tx, r)
}

func (t *groupTx) PutMail(m *rooms.Mail) error {
	if t.db == nil {
		return putMail(t.tx, m)
	}
	return t.db.queueMail(t.tx, m)
}

// MailsTo returns the outbox messages (queued or sent) to one address,
// compared case-insensitively, oldest first. The group code and its tests
// read what a change has queued for someone with it.
func (db *DB) MailsTo(ctx context.Context, to string) ([]*rooms.Mail, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: mails to %s: %w", to, err)
	}
	out := []*rooms.Mail{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOutbox).ForEach(func(id, _ []byte) error {
			m, err := getMail(tx, id)
			if err != nil {
				return err
			}
			if rooms.EmailKey(m.To) == rooms.EmailKey(to) {
				out = append(out, m)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: mails to %s: %w", to, err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}
