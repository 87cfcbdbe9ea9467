package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/rooms"
	"github.com/parley-dev/parley/rooms/store"
	"github.com/parley-dev/parley/signaling"
)

// endpointDirectory is signaling's Directory on the store: endpoint
// sessions checked as the groups API issues them (the parley_endpoint
// cookie), against the endpoint's record on every use.
type endpointDirectory struct {
	db       *store.DB
	sessions *auth.Sessions
}

var _ signaling.Directory = (*endpointDirectory)(nil)

// Authenticate checks an endpoint session token: a valid session of an
// endpoint that exists, is not disabled, has not been re-issued since
// (its generation), and whose group is active.
func (d *endpointDirectory) Authenticate(ctx context.Context, token string) (signaling.Endpoint, error) {
	claims, err := d.sessions.Verify(auth.SessionEndpoint, token)
	if err != nil {
		return signaling.Endpoint{}, err // wraps auth.ErrTokenExpired or auth.ErrTokenInvalid
	}
	ep, err := d.db.Endpoint(ctx, claims.Subject)
	if errors.Is(err, rooms.ErrEndpointNotFound) {
		return signaling.Endpoint{}, fmt.Errorf("endpoint %s: %w: removed", claims.Subject, signaling.ErrBadSession)
	}
	if err != nil {
		return signaling.Endpoint{}, err
	}
	if ep.Disabled || ep.Generation != claims.Gen {
		return signaling.Endpoint{}, fmt.Errorf("endpoint %s: %w: disabled or re-issued", ep.ID, signaling.ErrBadSession)
	}
	g, err := d.db.Group(ctx, ep.GroupID)
	if errors.Is(err, rooms.ErrGroupNotFound) {
		return signaling.Endpoint{}, fmt.Errorf("group of endpoint %s: %w: removed", ep.ID, signaling.ErrBadSession)
	}
	if err != nil {
		return signaling.Endpoint{}, err
	}
	if g.State != rooms.GroupActive {
		return signaling.Endpoint{}, fmt.Errorf("group %s is %s: %w", g.ID, g.State, signaling.ErrBadSession)
	}
	return directoryEndpoint(ep), nil
}

// Endpoints lists the group's endpoints that are not disabled.
func (d *endpointDirectory) Endpoints(ctx context.Context, groupID string) ([]signaling.Endpoint, error) {
	eps, err := d.db.Endpoints(ctx, groupID)
	if err != nil {
		return nil, err
	}
	out := make([]signaling.Endpoint, 0, len(eps))
	for _, ep := range eps {
		if !ep.Disabled {
			out = append(out, directoryEndpoint(ep))
		}
	}
	return out, nil
}

// Endpoint returns one endpoint.
func (d *endpointDirectory) Endpoint(ctx context.Context, id string) (signaling.Endpoint, error) {
	ep, err := d.db.Endpoint(ctx, id)
	if err != nil {
		return signaling.Endpoint{}, err
	}
	return directoryEndpoint(ep), nil
}

func directoryEndpoint(ep *rooms.Endpoint) signaling.Endpoint {
	return signaling.Endpoint{ID: ep.ID, GroupID: ep.GroupID, Name: ep.Name, Address: ep.Address, Kind: string(ep.Kind)}
}

// newEndpointDirectory returns the Directory of db, checking sessions
// signed with key (the store's signing key).
func newEndpointDirectory(db *store.DB, key []byte) (*endpointDirectory, error) {
	sessions, err := auth.NewSessions(auth.SessionConfig{Key: key})
	if err != nil {
		return nil, fmt.Errorf("endpoint sessions: %w", err)
	}
	return &endpointDirectory{db: db, sessions: sessions}, nil
}
