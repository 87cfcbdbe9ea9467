package connlimit

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server accepts on a limited loopback listener and keeps what it admits.
type server struct {
	ln       *Listener
	accepted chan net.Conn
}

func newServer(t *testing.T, cfg Config) *server {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{ln: NewListener(raw, cfg), accepted: make(chan net.Conn, 1000)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			s.accepted <- c
		}
	}()
	t.Cleanup(func() {
		s.ln.Close()
		<-done
		close(s.accepted)
		for c := range s.accepted {
			c.Close()
		}
	})
	return s
}

// dial opens n connections from the loopback address from.
func (s *server) dial(t *testing.T, from string, n int) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	for range n {
		c, err := d.Dial("tcp", s.ln.Addr().String())
		if err != nil {
			t.Fatalf("dial from %s: %v", from, err)
		}
		t.Cleanup(func() { c.Close() })
	}
}

// settle waits until open plus refused connections reach want.
func (s *server) settle(t *testing.T, want int) (open int, refused uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		open, refused = s.ln.Stats()
		if open+int(refused) >= want || time.Now().After(deadline) {
			return open, refused
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPerClientAndTotal(t *testing.T) {
	s := newServer(t, Config{PerClient: 5, Total: 8})
	s.dial(t, "127.0.0.1", 20)
	if open, refused := s.settle(t, 20); open != 5 || refused != 15 {
		t.Fatalf("one address opened 20: %d open, %d refused; want 5 and 15", open, refused)
	}
	// Another address still gets in, up to the total.
	s.dial(t, "127.0.0.2", 4)
	if open, refused := s.settle(t, 24); open != 8 || refused != 16 {
		t.Fatalf("second address: %d open, %d refused; want 8 and 16", open, refused)
	}
	// Closing an admitted connection frees its place, once.
	c := <-s.accepted
	c.Close()
	c.Close()
	s.dial(t, "127.0.0.2", 2)
	if open, refused := s.settle(t, 25); open != 8 || refused != 17 {
		t.Fatalf("after a close: %d open, %d refused; want 8 and 17", open, refused)
	}
}

func TestExempt(t *testing.T) {
	proxy := netip.MustParseAddr("127.0.0.3")
	s := newServer(t, Config{PerClient: 2, Total: 100, Exempt: func(a netip.Addr) bool { return a == proxy }})
	s.dial(t, "127.0.0.3", 10)
	s.dial(t, "127.0.0.1", 3)
	if open, refused := s.settle(t, 13); open != 12 || refused != 1 {
		t.Fatalf("%d open, %d refused; want the proxy's 10 and 2 of the other's 3", open, refused)
	}
}

func TestDefaultTotal(t *testing.T) {
	if n := DefaultTotal(); n < 64 || n > 16384 {
		t.Fatalf("DefaultTotal() = %d", n)
	}
}
