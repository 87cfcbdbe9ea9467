package bidi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// command is what the fake browser receives.
type command struct {
	ID     int64           `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

// fakeBrowser serves one BiDi WebSocket and answers each command with
// handle's messages (in order), so tests can reorder, fail or drop answers.
func fakeBrowser(t *testing.T, handle func(c command) []any) string {
	t.Helper()
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1) // before the client's Dial returns, so before wg.Wait
		defer wg.Done()
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for {
			var c command
			if err := ws.ReadJSON(&c); err != nil {
				return
			}
			for _, m := range handle(c) {
				if m == "hang up" {
					return
				}
				if err := ws.WriteJSON(m); err != nil {
					return
				}
			}
		}
	}))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		wg.Wait()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func success(id int64, result any) map[string]any {
	return map[string]any{"type": "success", "id": id, "result": result}
}

func TestCallMatchesResponsesByID(t *testing.T) {
	var events []Event
	var mu sync.Mutex
	held := map[int64]bool{}
	url := fakeBrowser(t, func(c command) []any {
		var p struct{ N int }
		json.Unmarshal(c.Params, &p)
		mu.Lock()
		defer mu.Unlock()
		// Answer the first command only after the second, with an event
		// in between, so answers arrive out of order.
		if len(held) == 0 {
			held[c.ID] = true
			return nil
		}
		var first int64
		for id := range held {
			first = id
		}
		return []any{
			success(c.ID, map[string]int{"n": p.N * 10}),
			map[string]any{"type": "event", "method": "log.entryAdded", "params": map[string]string{"text": "hi"}},
			success(first, map[string]int{"n": 10}),
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, func(e Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	got := make([]int, 2)
	errs := make(chan error, 2)
	for i := range 2 {
		go func() {
			var res struct{ N int }
			err := c.Call(ctx, "test.echo", map[string]int{"N": i + 1}, &res)
			got[i] = res.N
			errs <- err
		}()
		if i == 0 {
			// Make sure the first command is the one held back.
			for {
				mu.Lock()
				n := len(held)
				mu.Unlock()
				if n == 1 {
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got[0] != 10 || got[1] != 20 {
		t.Errorf("results = %v, want [10 20]", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 1 || events[0].Method != "log.entryAdded" || !strings.Contains(string(events[0].Params), "hi") {
		t.Errorf("events = %+v, want one log.entryAdded", events)
	}
}

func TestCallReturnsBiDiErrors(t *testing.T) {
	url := fakeBrowser(t, func(c command) []any {
		return []any{map[string]any{"type": "error", "id": c.ID, "error": "no such frame", "message": "context gone"}}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Call(ctx, "browsingContext.navigate", nil, nil)
	var be *Error
	if !errors.As(err, &be) || be.Code != "no such frame" || be.Method != "browsingContext.navigate" {
		t.Fatalf("err = %v, want a BiDi *Error with code \"no such frame\"", err)
	}
}

func TestCallFailsWhenTheConnectionDrops(t *testing.T) {
	url := fakeBrowser(t, func(c command) []any { return []any{"hang up"} })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Call(ctx, "session.status", nil, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("call on a dropped connection: %v, want ErrClosed", err)
	}
	<-c.Done()
	if err := c.Call(ctx, "session.status", nil, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after the drop: %v, want ErrClosed", err)
	}
}

func TestCallHonoursItsContext(t *testing.T) {
	url := fakeBrowser(t, func(c command) []any { return nil }) // never answers
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if err := c.Call(short, "session.status", nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unanswered call: %v, want DeadlineExceeded", err)
	}
	c.mu.Lock()
	n := len(c.pending)
	c.mu.Unlock()
	if n != 0 {
		t.Errorf("%d calls still pending after their context ended", n)
	}
}

func TestWriteUserJS(t *testing.T) {
	path := t.TempDir() + "/user.js"
	err := writeUserJS(path, map[string]any{"b.int": 3, "a.bool": true, "c.str": `say "hi"`})
	if err != nil {
		t.Fatal(err)
	}
	got := readFile(t, path)
	want := `user_pref("a.bool", true);
user_pref("b.int", 3);
user_pref("c.str", "say \"hi\"");
`
	if !strings.HasSuffix(got, want) {
		t.Errorf("user.js =\n%s\nwant it to end with\n%s", got, want)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
