package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-dev/parley/auth"
	"github.com/parley-dev/parley/client"
	"github.com/parley-dev/parley/signaling/protocol"
)

// rawConn is a WebSocket to the server with no client logic, for sending
// bad input.
type rawConn struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialRaw(t *testing.T, m *Main, header http.Header) *rawConn {
	t.Helper()
	url := strings.Replace(m.LocalURL(), "http://", "ws://", 1) + "/ws"
	conn, resp, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", url, err, status)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawConn{t: t, conn: conn}
}

func (c *rawConn) sendRaw(data []byte) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, data); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *rawConn) send(msg any) {
	c.t.Helper()
	data, err := json.Marshal(msg)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(data)
}

// next reads the next message, failing the test on a close or timeout.
func (c *rawConn) next() any {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := c.conn.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	msg, perr := protocol.Decode(data)
	if perr != nil {
		c.t.Fatalf("server sent undecodable %s: %s", data, perr.Message)
	}
	return msg
}

// expectError reads until an error message and checks its code.
func (c *rawConn) expectError(code string) *protocol.Error {
	c.t.Helper()
	for {
		if e, ok := c.next().(*protocol.Error); ok {
			if e.Code != code {
				c.t.Fatalf("error code %q (%s), want %q", e.Code, e.Message, code)
			}
			if e.Message == "" {
				c.t.Errorf("error %q has no message", code)
			}
			return e
		}
	}
}

// expectClose reads until the server closes and checks the close code.
func (c *rawConn) expectClose(code int) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := c.conn.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			c.t.Fatalf("connection ended with %v, want close %d", err, code)
		}
		if ce.Code != code {
			c.t.Fatalf("close code %d (%q), want %d", ce.Code, ce.Text, code)
		}
		return
	}
}

// expectAlive checks the connection still answers a ping.
func (c *rawConn) expectAlive() {
	c.t.Helper()
	c.send(protocol.Ping{Type: protocol.TypePing, ID: "alive"})
	for {
		if p, ok := c.next().(*protocol.Pong); ok && p.ID == "alive" {
			return
		}
	}
}

// joinToken gets a token for link over the HTTP API.
func joinToken(t *testing.T, m *Main, link string) string {
	t.Helper()
	resp, err := http.Post(m.LocalURL()+"/api/v1/join", "application/json", strings.NewReader(`{"link":"`+link+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jr struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&jr); err != nil || jr.Token == "" {
		t.Fatalf("join: status %d, %v", resp.StatusCode, err)
	}
	return jr.Token
}

func joinMsg(token string) protocol.Join {
	return protocol.Join{Type: protocol.TypeJoin, Version: protocol.Version, Token: token, Name: "tester"}
}

func TestWebSocketBadInput(t *testing.T) {
	m := startServer(t, "")
	link := createRoom(t, m, "bad input")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// A well-behaved participant stays in the call throughout and must not
	// notice anything.
	bystander, err := client.Join(ctx, client.Config{BaseURL: m.LocalURL(), Link: link, Name: "bystander", Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer bystander.Close()

	key, err := m.DB().SigningKey()
	if err != nil {
		t.Fatal(err)
	}
	past, err := auth.NewTokens(auth.TokenConfig{Key: key, Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	roomID := func() string {
		rm, err := m.DB().RoomByLink(ctx, link)
		if err != nil {
			t.Fatal(err)
		}
		return rm.ID
	}()
	expired, _, err := past.IssueJoin(roomID, "member")
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := auth.NewTokens(auth.TokenConfig{Key: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	forged, _, err := otherKey.IssueJoin(roomID, "member")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("malformed JSON", func(t *testing.T) {
		c := dialRaw(t, m, nil)
		c.sendRaw([]byte(`{"type":"join",`))
		c.expectError(protocol.CodeBadJSON)
		c.sendRaw([]byte(`[1,2,3]`))
		c.expectError(protocol.CodeBadJSON)
		c.sendRaw([]byte(`{"type":"join","version":"one"}`))
		c.expectError(protocol.CodeBadJSON)
		c.expectAlive()
	})
	t.Run("binary frame", func(t *testing.T) {
		c := dialRaw(t, m, nil)
		c.conn.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3})
		c.expectError(protocol.CodeBadJSON)
		c.expectAlive()
	})
	t.Run("unknown type", func(t *testing.T) {
		c := dialRaw(t, m, nil)
		c.sendRaw([]byte(`{"type":"teleport"}`))
		if e := c.expectError(protocol.CodeUnknownType); e.Ref != "teleport" {
			t.Errorf("ref = %q, want teleport", e.Ref)
		}
		c.sendRaw([]byte(`{"sdp":"x"}`))
		c.expectError(protocol.CodeUnknownType)
		c.sendRaw([]byte(`{"type":"offer","sdp":"x"}`))
		c.expectError(protocol.CodeUnknownType)
		c.expectAlive()
	})
	t.Run("not joined", func(t *testing.T) {
		c := dialRaw(t, m, nil)
		c.send(protocol.Answer{Type: protocol.TypeAnswer, SDP: "v=0"})
		c.expectError(protocol.CodeNotJoined)
		c.send(protocol.Mute{Type: protocol.TypeMute, AudioMuted: true})
		c.expectError(protocol.CodeNotJoined)
		c.expectAlive()
	})
	t.Run("too large", func(t *testing.T) {
		c := dialRaw(t, m, nil)
		big := `{"type":"ping","id":"` + strings.Repeat("x", protocol.MaxMessageBytes) + `"}`
		c.sendRaw([]byte(big))
		c.expectError(protocol.CodeTooLarge)
		c.expectClose(websocket.CloseMessageTooBig)
	})
	t.Run("bad token", func(t *testing.T) {
		c := dialRaw(t, m, nil)
		c.send(joinMsg("not-a-jwt"))
		c.expectError(protocol.CodeBadToken)
		c.expectClose(websocket.ClosePolicyViolation)
	})
	t.Run("forged token", func(t *testing.T) {
		c := dialRaw(t, m, nil)
		c.send(joinMsg(forged))
		c.expectError(protocol.CodeBadToken)
		c.expectClose(websocket.ClosePolicyViolation)
	})
	t.Run("expired token", func(t *testing.T) {
		c := dialRaw(t, m, nil)
		c.send(joinMsg(expired))
		c.expectError(protocol.CodeTokenExpired)
		c.expectClose(websocket.ClosePolicyViolation)
	})
	t.Run("bad version", func(t *testing.T) {
		c := dialRaw(t, m, nil)
		j := joinMsg(joinToken(t, m, link))
		j.Version = 99
		c.send(j)
		c.expectError(protocol.CodeBadVersion)
		c.expectClose(websocket.ClosePolicyViolation)
	})
	t.Run("bad name, then join, then join again, then bad SDP", func(t *testing.T) {
		c := dialRaw(t, m, nil)
		token := joinToken(t, m, link)
		j := joinMsg(token)
		j.Name = "   "
		c.send(j)
		c.expectError(protocol.CodeBadRequest)
		c.send(joinMsg(token))
		for {
			if _, ok := c.next().(*protocol.Joined); ok {
				break
			}
		}
		c.send(joinMsg(token))
		c.expectError(protocol.CodeAlreadyJoined)
		c.send(protocol.Answer{Type: protocol.TypeAnswer, SDP: "this is not SDP"})
		c.expectError(protocol.CodeBadSDP)
		c.send(protocol.Candidate{Type: protocol.TypeCandidate, Candidate: protocol.ICECandidate{Candidate: "candidate:garbage"}})
		c.expectError(protocol.CodeBadSDP)
		c.expectAlive()
	})
	t.Run("flood", func(t *testing.T) {
		c := dialRaw(t, m, nil)
		ping, _ := json.Marshal(protocol.Ping{Type: protocol.TypePing})
		// Write in the background: the server stops reading once it closes.
		go func() {
			for range 400 {
				if c.conn.WriteMessage(websocket.TextMessage, ping) != nil {
					return
				}
			}
		}()
		c.expectError(protocol.CodeRateLimited)
		c.expectClose(websocket.ClosePolicyViolation)
	})
	t.Run("foreign origin", func(t *testing.T) {
		url := strings.Replace(m.LocalURL(), "http://", "ws://", 1) + "/ws"
		_, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {"https://evil.example"}})
		if err == nil {
			t.Fatal("a foreign origin opened a WebSocket")
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("foreign origin: %v, want 403", err)
		}
	})

	// The bystander saw nothing but the joins and leaves, and is still served.
	st := bystander.State()
	if len(st.Errors) > 0 || st.Bye != "" || st.Closed {
		t.Fatalf("bystander was disturbed: %+v", st)
	}
	if err := bystander.Send(protocol.Ping{Type: protocol.TypePing}); err != nil {
		t.Fatalf("bystander ping: %v", err)
	}
}
