package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-dev/parley/signaling/protocol"
)

// ResumeError is a resume the server refused (docs/protocol.md, "Resume"):
// Code is protocol.CodeResumeFailed, or protocol.CodeRateLimited after
// too many failures from this address. The client should join afresh.
type ResumeError struct {
	Code, Message string
}

func (e *ResumeError) Error() string { return "resume refused: " + e.Code + ": " + e.Message }

// Drop cuts the client's WebSocket abruptly, as a lost network would: the
// TCP connection is reset, with no close frame and no leave. The media
// connection stays. It returns once the read loop has ended; Resume then
// takes the place back.
func (c *Client) Drop() {
	c.mu.Lock()
	conn, done := c.conn, c.done
	c.mu.Unlock()
	if tcp, ok := conn.UnderlyingConn().(*net.TCPConn); ok {
		tcp.SetLinger(0) // close sends RST
	}
	conn.Close()
	<-done
}

// ResumeToken returns the client's current resume token.
func (c *Client) ResumeToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resumeToken
}

// Resume takes the client's place back over a new WebSocket, with its
// current resume token, keeping its participant id, role and
// PeerConnection; the server then restarts ICE with an offer that the
// client answers in the background. A connection still open is cut first
// (Drop). It returns once the server has answered resumed, or a
// *ResumeError if it refused (the client stays disconnected: Join anew).
func (c *Client) Resume(ctx context.Context) error {
	return c.ResumeWith(ctx, c.ResumeToken())
}

// ResumeWith is Resume with the token given (tests use it for wrong and
// used tokens).
func (c *Client) ResumeWith(ctx context.Context, token string) error {
	c.mu.Lock()
	closed, done := c.closed, c.done
	c.mu.Unlock()
	if closed {
		return ErrClosed
	}
	select {
	case <-done:
	default:
		c.Drop()
	}
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, c.wsURL, c.cfg.Header)
	if err != nil {
		return fmt.Errorf("dial %s: %w", c.wsURL, err)
	}
	data, err := json.Marshal(protocol.Resume{Type: protocol.TypeResume, Version: Version, ParticipantID: c.ID, Token: token})
	if err == nil {
		conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		err = conn.WriteMessage(websocket.TextMessage, data)
	}
	var resumed *protocol.Resumed
	if err == nil {
		resumed, err = readResumed(ctx, conn)
	}
	if err != nil {
		conn.Close()
		return err
	}
	c.writeMu.Lock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.writeMu.Unlock()
		conn.Close()
		return ErrClosed
	}
	c.conn, c.done = conn, make(chan struct{})
	c.resumeToken = resumed.ResumeToken
	c.self = resumed.Self
	c.call = resumed.Call
	c.bye = ""
	clear(c.participants)
	for _, p := range resumed.Participants {
		c.participants[p.ID] = p
	}
	done = c.done
	c.mu.Unlock()
	c.writeMu.Unlock()
	go c.readLoop(conn, done)
	c.notify()
	return nil
}

// readResumed reads until the resumed message, failing on an error.
func readResumed(ctx context.Context, conn *websocket.Conn) (*protocol.Resumed, error) {
	if dl, ok := ctx.Deadline(); ok {
		conn.SetReadDeadline(dl)
		defer conn.SetReadDeadline(time.Time{})
	}
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return nil, fmt.Errorf("waiting for resumed: %w", err)
		}
		msg, perr := protocol.Decode(data)
		if perr != nil {
			return nil, fmt.Errorf("waiting for resumed: server sent %s", perr.Message)
		}
		switch m := msg.(type) {
		case *protocol.Resumed:
			return m, nil
		case *protocol.Error:
			return nil, &ResumeError{Code: m.Code, Message: m.Message}
		case *protocol.Bye:
			return nil, errors.New("resume refused: bye " + m.Reason)
		}
	}
}

// RemoteICEUfrag is the server's ICE username fragment in the current
// remote description ("" before the first offer): it changes when the
// server restarts ICE.
func (c *Client) RemoteICEUfrag() string {
	d := c.pc.CurrentRemoteDescription()
	if d == nil {
		return ""
	}
	for line := range strings.Lines(d.SDP) {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}
