// Package bidi is a small WebDriver BiDi client for tests: it starts
// Firefox with a fresh profile and drives its pages over the W3C WebDriver
// BiDi protocol (https://w3c.github.io/webdriver-bidi/), which Firefox
// speaks itself, so no geckodriver is needed.
//
// It is test-only: deps_test.go fails if a non-test package imports it.
// It implements the few commands parley's browser tests use (session,
// browsingContext, script, input), not the whole protocol.
package bidi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// ErrClosed is returned by Call once the connection has closed.
var ErrClosed = errors.New("bidi: connection closed")

// maxMessage bounds one message from the browser; a full-page screenshot
// of a desktop page, base64-encoded, is a few MiB.
const maxMessage = 64 << 20

// writeTimeout bounds one command's write when its context has no deadline.
const writeTimeout = 10 * time.Second

// Error is a BiDi error response (spec §6.4 "Errors"): Code is the error
// code such as "no such frame" or "invalid argument".
type Error struct {
	Method  string
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("bidi: %s: %s: %s", e.Method, e.Code, e.Message)
}

// Event is a BiDi event: Method names it ("log.entryAdded"), Params is its
// JSON payload.
type Event struct {
	Method string
	Params json.RawMessage
}

// Conn is one WebDriver BiDi WebSocket connection. Call may be used from
// several goroutines; responses are matched to commands by id.
type Conn struct {
	// Set at construction.
	ws      *websocket.Conn
	onEvent func(Event)
	done    chan struct{} // closed when read returns

	writeMu sync.Mutex // serialises writes: a gorilla conn has one writer

	mu      sync.Mutex // guards the fields below
	nextID  int64
	pending map[int64]chan message
	err     error // why read ended; set once, before done is closed
}

// message is any message from the browser: a command's success or error,
// or an event (spec §6.3 "Transport", the "Message" CDDL).
type message struct {
	Type    string          `json:"type"` // "success", "error" or "event"
	ID      *int64          `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   string          `json:"error"`
	Message string          `json:"message"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

// Dial connects to a BiDi WebSocket endpoint (ws://host:port/session).
// onEvent, if not nil, is called from the connection's reader goroutine for
// each event; it must not block or call Call.
func Dial(ctx context.Context, url string, onEvent func(Event)) (*Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, resp, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("bidi: dial %s: %w", url, err)
	}
	resp.Body.Close()
	ws.SetReadLimit(maxMessage)
	c := &Conn{
		ws:      ws,
		onEvent: onEvent,
		done:    make(chan struct{}),
		pending: make(map[int64]chan message),
	}
	go c.read()
	return c, nil
}

// read delivers each message to its caller or to onEvent. It ends when the
// WebSocket fails or Close closes it, and then fails every pending call.
func (c *Conn) read() {
	var err error
	for {
		var m message
		if err = c.ws.ReadJSON(&m); err != nil {
			break
		}
		if m.Type == "event" {
			if c.onEvent != nil {
				c.onEvent(Event{Method: m.Method, Params: m.Params})
			}
			continue
		}
		if m.ID == nil {
			continue // an error about a message we could not have sent
		}
		c.mu.Lock()
		ch := c.pending[*m.ID]
		delete(c.pending, *m.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- m // buffered: never blocks
		}
	}
	c.mu.Lock()
	c.err = fmt.Errorf("%w: %v", ErrClosed, err)
	c.pending = nil
	c.mu.Unlock()
	close(c.done)
}

// Call sends a command and waits for its response, which it decodes into
// result (if not nil). A BiDi error response is returned as an *Error.
func (c *Conn) Call(ctx context.Context, method string, params, result any) error {
	if params == nil {
		params = struct{}{}
	}
	ch := make(chan message, 1)
	c.mu.Lock()
	if c.pending == nil {
		err := c.err
		c.mu.Unlock()
		return fmt.Errorf("bidi: %s: %w", method, err)
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		if c.pending != nil {
			delete(c.pending, id)
		}
		c.mu.Unlock()
	}

	cmd := struct {
		ID     int64  `json:"id"`
		Method string `json:"method"`
		Params any    `json:"params"`
	}{id, method, params}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(writeTimeout)
	}
	c.writeMu.Lock()
	c.ws.SetWriteDeadline(deadline)
	err := c.ws.WriteJSON(cmd)
	c.writeMu.Unlock()
	if err != nil {
		forget()
		return fmt.Errorf("bidi: send %s: %w", method, err)
	}

	select {
	case m := <-ch:
		return decode(method, m, result)
	case <-c.done:
		select {
		case m := <-ch: // answered just before the connection closed
			return decode(method, m, result)
		default:
		}
		return fmt.Errorf("bidi: %s: %w", method, c.err) // c.err is set before done closes
	case <-ctx.Done():
		forget()
		return fmt.Errorf("bidi: %s: %w", method, ctx.Err())
	}
}

// decode turns a command's response into an error or a result.
func decode(method string, m message, result any) error {
	if m.Type == "error" {
		return &Error{Method: method, Code: m.Error, Message: m.Message}
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(m.Result, result); err != nil {
		return fmt.Errorf("bidi: %s: decode result: %w", method, err)
	}
	return nil
}

// Done is closed when the connection has closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close closes the WebSocket and waits for the reader to end.
func (c *Conn) Close() error {
	err := c.ws.Close()
	<-c.done
	return err
}
