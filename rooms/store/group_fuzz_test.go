package store

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parley-dev/parley/rooms"
	bolt "go.etcd.io/bbolt"
)

// FuzzGroupIndexes runs a sequence of group operations chosen by the
// input's bytes (sign-ups, members and room systems added and removed,
// rooms created and deleted, groups deleted) and after each checks the
// indexes against the records.
//
// Properties: every group is in groups_by_name under its slug (and
// groups_by_activation under its hash), every endpoint in
// endpoints_by_group, endpoints_by_address and (members)
// endpoints_by_email, every group room in rooms_by_group and
// rooms_by_link, and not in rooms_by_name; every index entry points at a
// record with that key; addresses are unique and end in "@" + the
// group's slug.
func FuzzGroupIndexes(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7})
	f.Add([]byte{0, 0, 1, 1, 1, 7, 0, 2, 2, 5, 6, 4})
	f.Add([]byte("group operations, one a byte"))
	db := openFuzzDB(f)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	names := []string{"Choir", "CHOIR", "St Mary", "st-mary", "Band"}
	emails := []string{"alice@example.org", "ALICE@example.org", "alice@other.org", "bob@example.org", "carol@example.org"}
	f.Fuzz(func(t *testing.T, ops []byte) {
		clearGroups(t, db)
		var groups []string
		pick := func(b byte, n int) int { return int(b>>3) % max(n, 1) }
		for i, op := range ops {
			if i > 40 {
				break
			}
			switch op % 8 {
			case 0: // sign up
				g, err := rooms.NewGroup(names[pick(op, len(names))], rooms.Limits{}, now)
				if err != nil {
					t.Fatal(err)
				}
				g.ActivationHash = rooms.TokenHash(fmt.Sprint("tok", i))
				ep, _ := rooms.NewMember(g.ID, emails[pick(op, len(emails))], now)
				if err := db.CreateGroup(ctx, g, []*rooms.Endpoint{ep}, nil); err == nil {
					groups = append(groups, g.ID)
				}
			case 1, 2: // add a member or a room system
				if len(groups) == 0 {
					continue
				}
				gid := groups[pick(op, len(groups))]
				_ = db.UpdateGroup(ctx, gid, func(tx rooms.GroupTx) error {
					var ep *rooms.Endpoint
					if op%8 == 1 {
						ep, _ = rooms.NewMember(gid, emails[pick(op, len(emails))], now)
					} else {
						ep, _ = rooms.NewRoomSystem(gid, emails[pick(op, len(emails))], now)
					}
					return tx.AddEndpoint(ep)
				})
			case 3: // remove an endpoint
				forSome(t, db, groups, op, func(tx rooms.GroupTx) error {
					eps, _ := tx.Endpoints()
					if len(eps) == 0 {
						return nil
					}
					return tx.DeleteEndpoint(eps[pick(op, len(eps))].ID)
				})
			case 4: // create a room
				forSome(t, db, groups, op, func(tx rooms.GroupTx) error {
					r, _ := rooms.New(names[pick(op, len(names))], now)
					return tx.CreateRoom(r)
				})
			case 5: // delete a room
				forSome(t, db, groups, op, func(tx rooms.GroupTx) error {
					rs, _ := tx.Rooms()
					if len(rs) == 0 {
						return nil
					}
					return tx.DeleteRoom(rs[pick(op, len(rs))].ID)
				})
			case 6: // a new activation link
				forSome(t, db, groups, op, func(tx rooms.GroupTx) error {
					g := tx.Group()
					g.ActivationHash = rooms.TokenHash(fmt.Sprint("re", i))
					return tx.PutGroup(g)
				})
			case 7: // delete a group
				if len(groups) == 0 {
					continue
				}
				j := pick(op, len(groups))
				if _, err := db.DeleteGroup(ctx, groups[j], nil); err != nil {
					t.Fatal(err)
				}
				groups = append(groups[:j], groups[j+1:]...)
			}
			checkGroupIndexes(t, db)
		}
	})
}

func forSome(t *testing.T, db *DB, groups []string, op byte, fn func(rooms.GroupTx) error) {
	if len(groups) == 0 {
		return
	}
	_ = db.UpdateGroup(context.Background(), groups[int(op>>3)%len(groups)], fn)
}

// clearGroups empties every group bucket and the rooms.
func clearGroups(t *testing.T, db *DB) {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketGroups, bucketGroupsByName, bucketGroupsByActivation, bucketEndpoints,
			bucketEndpointsByGroup, bucketEndpointsByAddress, bucketEndpointsByEmail, bucketRoomsByGroup,
			bucketRooms, bucketRoomsByName, bucketRoomsByLink} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func checkGroupIndexes(t *testing.T, db *DB) {
	t.Helper()
	err := db.bolt.View(func(tx *bolt.Tx) error {
		gs := map[string]*rooms.Group{}
		if err := tx.Bucket(bucketGroups).ForEach(func(k, _ []byte) error {
			g, err := getGroup(tx, k)
			if err != nil {
				return err
			}
			gs[g.ID] = g
			if string(tx.Bucket(bucketGroupsByName).Get([]byte(g.Slug))) != g.ID {
				return fmt.Errorf("group %s not in groups_by_name under %q", g.ID, g.Slug)
			}
			if g.ActivationHash != "" && string(tx.Bucket(bucketGroupsByActivation).Get([]byte(g.ActivationHash))) != g.ID {
				return fmt.Errorf("group %s not in groups_by_activation", g.ID)
			}
			return nil
		}); err != nil {
			return err
		}
		if err := eachPointsAt(tx, bucketGroupsByName, func(k, id []byte) bool { g := gs[string(id)]; return g != nil && g.Slug == string(k) }); err != nil {
			return err
		}
		if err := eachPointsAt(tx, bucketGroupsByActivation, func(k, id []byte) bool {
			g := gs[string(id)]
			return g != nil && g.ActivationHash == string(k)
		}); err != nil {
			return err
		}
		eps := map[string]*rooms.Endpoint{}
		if err := tx.Bucket(bucketEndpoints).ForEach(func(k, _ []byte) error {
			ep, err := getEndpoint(tx, k)
			if err != nil {
				return err
			}
			eps[ep.ID] = ep
			g := gs[ep.GroupID]
			switch {
			case g == nil:
				return fmt.Errorf("endpoint %s of a missing group %s", ep.ID, ep.GroupID)
			case !bytes.HasSuffix([]byte(ep.Address), []byte("@"+g.Slug)):
				return fmt.Errorf("endpoint address %q not @%s", ep.Address, g.Slug)
			case string(tx.Bucket(bucketEndpointsByAddress).Get([]byte(ep.Address))) != ep.ID:
				return fmt.Errorf("endpoint %s not in endpoints_by_address", ep.ID)
			case tx.Bucket(bucketEndpointsByGroup).Get([]byte(ep.GroupID+"/"+ep.ID)) == nil:
				return fmt.Errorf("endpoint %s not in endpoints_by_group", ep.ID)
			case ep.Kind == rooms.EndpointMember && string(tx.Bucket(bucketEndpointsByEmail).Get([]byte(rooms.EmailKey(ep.Name)))) != ep.ID:
				return fmt.Errorf("member %s not in endpoints_by_email", ep.ID)
			}
			return nil
		}); err != nil {
			return err
		}
		if err := eachPointsAt(tx, bucketEndpointsByAddress, func(k, id []byte) bool { e := eps[string(id)]; return e != nil && e.Address == string(k) }); err != nil {
			return err
		}
		if err := eachPointsAt(tx, bucketEndpointsByEmail, func(k, id []byte) bool {
			e := eps[string(id)]
			return e != nil && e.Kind == rooms.EndpointMember && rooms.EmailKey(e.Name) == string(k)
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketEndpointsByGroup).ForEach(func(k, _ []byte) error {
			g, id, _ := bytes.Cut(k, []byte("/"))
			if e := eps[string(id)]; e == nil || e.GroupID != string(g) {
				return fmt.Errorf("stale endpoints_by_group entry %q", k)
			}
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketRoomsByGroup).ForEach(func(k, id []byte) error {
			r, err := getRoom(tx, id)
			if err != nil {
				return fmt.Errorf("rooms_by_group %q: %w", k, err)
			}
			if string(k) != r.GroupID+"/"+rooms.NameKey(r.Name) || gs[r.GroupID] == nil ||
				string(tx.Bucket(bucketRoomsByLink).Get([]byte(r.Link))) != r.ID || tx.Bucket(bucketRoomsByName).Get([]byte(rooms.NameKey(r.Name))) != nil {
				return fmt.Errorf("group room %s indexed wrongly under %q", r.ID, k)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// eachPointsAt checks every entry of an index with ok.
func eachPointsAt(tx *bolt.Tx, bucket []byte, ok func(k, id []byte) bool) error {
	return tx.Bucket(bucket).ForEach(func(k, id []byte) error {
		if !ok(k, id) {
			return fmt.Errorf("stale %s entry %q → %q", bucket, k, id)
		}
		return nil
	})
}
