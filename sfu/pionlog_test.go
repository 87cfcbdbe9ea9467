package sfu

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// logRecorder is a slog.Handler keeping every record at minLevel or above.
type logRecorder struct {
	minLevel slog.Level
	attrs    []slog.Attr // from WithAttrs
	shared   *recorded
}

type recorded struct {
	mu   sync.Mutex
	recs []recordedLog
}

type recordedLog struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func newLogRecorder(minLevel slog.Level) *logRecorder {
	return &logRecorder{minLevel: minLevel, shared: &recorded{}}
}

func (h *logRecorder) Enabled(_ context.Context, l slog.Level) bool { return l >= h.minLevel }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	rec := recordedLog{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range h.attrs {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool { rec.attrs[a.Key] = a.Value.String(); return true })
	h.shared.mu.Lock()
	h.shared.recs = append(h.shared.recs, rec)
	h.shared.mu.Unlock()
	return nil
}

func (h *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *logRecorder) WithGroup(string) slog.Handler { return h }

func (h *logRecorder) records() []recordedLog {
	h.shared.mu.Lock()
	defer h.shared.mu.Unlock()
	return append([]recordedLog(nil), h.shared.recs...)
}

// TestPionLogRateLimit checks the limiter lets through logBurst records
// per scope and format in each interval, then says how many it held back.
func TestPionLogRateLimit(t *testing.T) {
	now := time.Unix(1000, 0)
	rec := newLogRecorder(slog.LevelDebug)
	lf := newPionLoggerFactory(slog.New(rec), func() time.Time { return now })
	ice, mux := lf.NewLogger("ice"), lf.NewLogger("udpmux")

	for i := range 100 {
		ice.Warnf("No Username attribute in STUN message from %s", fmt.Sprintf("192.0.2.1:%d", i))
	}
	mux.Warnf("No Username attribute in STUN message from %s", "192.0.2.1:1")   // another scope
	ice.Errorf("Failed to handle decode ICE from %s: %v", "192.0.2.1:1", "bad") // another format
	recs := rec.records()
	if len(recs) != logBurst+2 {
		t.Fatalf("%d records after 100 of one kind and 2 others, want %d", len(recs), logBurst+2)
	}
	if recs[0].msg != "No Username attribute in STUN message from 192.0.2.1:0" || recs[0].level != slog.LevelInfo || recs[0].attrs["pion"] != "ice" {
		t.Errorf("first record %+v", recs[0])
	}

	now = now.Add(logInterval - time.Second)
	ice.Warnf("No Username attribute in STUN message from %s", "192.0.2.1:7")
	if n := len(rec.records()); n != logBurst+2 {
		t.Errorf("a record within the interval was let through")
	}
	now = now.Add(time.Second)
	ice.Warnf("No Username attribute in STUN message from %s", "192.0.2.1:8")
	recs = rec.records()
	last := recs[len(recs)-1]
	if len(recs) != logBurst+3 || last.attrs["suppressed"] != "96" {
		t.Errorf("after the interval: %d records, last %+v; want %d, suppressed=96", len(recs), last, logBurst+3)
	}

	// Unformatted messages whose text varies share one key per scope
	// once logMaxKeys are remembered.
	for i := range 3 * logMaxKeys {
		mux.Warn(fmt.Sprintf("message %d", i))
	}
	if n := len(rec.records()) - (logBurst + 3); n > logMaxKeys+logBurst {
		t.Errorf("%d varying messages let through, want at most %d", n, logMaxKeys+logBurst)
	}

	// A message with a % but no arguments is logged as it is.
	lf.NewLogger("pc").Error("100% odd")
	if recs := rec.records(); recs[len(recs)-1].msg != "100% odd" {
		t.Errorf("unformatted message logged as %q", recs[len(recs)-1].msg)
	}
}

// stunRequest returns a STUN Binding request (RFC 8489 §5) with the given
// attributes (type, value) and a header length of extra more than right.
func stunRequest(extra int, attrs ...[]byte) []byte {
	m := make([]byte, 20)
	binary.BigEndian.PutUint16(m[0:], 0x0001)
	binary.BigEndian.PutUint32(m[4:], 0x2112A442)
	copy(m[8:], "parley-test!")
	for _, a := range attrs {
		m = append(m, a...)
		for len(m)%4 != 0 {
			m = append(m, 0)
		}
	}
	binary.BigEndian.PutUint16(m[2:], uint16(len(m)-20+extra))
	return m
}

// username is a STUN USERNAME attribute.
func username(u string) []byte {
	a := make([]byte, 4, 4+len(u))
	binary.BigEndian.PutUint16(a[0:], 0x0006)
	binary.BigEndian.PutUint16(a[2:], uint16(len(u)))
	return append(a, u...)
}

// TestStrangerPacketsAreRateLimitedInLogs sends what anyone can send to
// the media ports (garbage, STUN with an unknown or no USERNAME, broken
// STUN; over UDP and over ICE-TCP connections) and checks the logs hold
// at most a handful of records of each kind, at any level from Debug.
func TestStrangerPacketsAreRateLimitedInLogs(t *testing.T) {
	rec := newLogRecorder(slog.LevelDebug)
	s, err := New(Config{Loopback: true, Logger: slog.New(rec)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	udp := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: s.UDPAddr().Port}
	tcp := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: s.TCPAddr().Port}
	kinds := [][]byte{
		[]byte("not a packet of any protocol at all"),
		stunRequest(0), // no USERNAME
		stunRequest(0, username("nobody:nobody")), // unknown USERNAME
		stunRequest(40, username("nobody:x")),     // length beyond the packet
	}
	const n = 60
	for range n {
		c, err := net.DialUDP("udp4", nil, udp) // a new source port each time
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range kinds {
			_, _ = c.Write(p)
		}
		c.Close()
	}
	var tcpKinds [][]byte
	for _, p := range append(kinds, []byte{0, 1}) { // a truncated frame too
		framed := binary.BigEndian.AppendUint16(nil, uint16(len(p)))
		tcpKinds = append(tcpKinds, append(framed, p...))
	}
	for i := range n / 3 {
		for _, p := range append(tcpKinds, nil) { // nil: connect and close
			c, err := net.DialTCP("tcp4", nil, tcp)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = c.Write(p)
			if i%2 == 0 {
				_ = c.CloseWrite()
			}
			_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			_, _ = c.Read(make([]byte, 100)) // the server closes it, or not
			c.Close()
		}
	}
	// The muxes log as they read; wait until the records stop coming.
	for last, quiet := -1, 0; quiet < 10; quiet++ {
		if got := len(rec.records()); got != last {
			last, quiet = got, 0
		}
		time.Sleep(20 * time.Millisecond)
	}

	byKind := map[string]int{}
	for _, r := range rec.records() {
		if r.attrs["pion"] == "" {
			continue // ours: "sfu started"
		}
		msg := r.msg // the constant part of Pion's message
		for _, sep := range []string{" from ", ": ", " by "} {
			msg, _, _ = strings.Cut(msg, sep)
		}
		kind := r.attrs["pion"] + ": " + msg
		byKind[kind]++
	}
	for kind, c := range byKind {
		if c > logBurst {
			t.Errorf("%d records of %q for %d packets of each kind", c, kind, n)
		}
	}
	t.Logf("records by kind: %v", byKind)
}
