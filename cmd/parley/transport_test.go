package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/signaling/protocol"
)

// TestPublicIPAnnounced checks --public-ip replaces local addresses in the
// server's ICE candidates, for IPv4 and IPv6, and that only the families
// given are announced.
func TestPublicIPAnnounced(t *testing.T) {
	for _, tc := range []struct {
		name string
		ips  []string
	}{
		{"ipv4", []string{"203.0.113.7"}},
		{"ipv6", []string{"2001:db8::7"}},
		{"both", []string{"203.0.113.7", "2001:db8::7"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMain(Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), PublicIPs: tc.ips}, testLogger())
			if err := m.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			cands := serverCandidates(t, m)
			seen := map[string]bool{}
			for _, cand := range cands {
				f := strings.Fields(cand)
				if len(f) < 5 || !slices.Contains(tc.ips, f[4]) {
					t.Errorf("candidate %q does not carry a public IP", cand)
					continue
				}
				seen[f[4]+" "+strings.ToLower(f[2])] = true
			}
			for _, ip := range tc.ips {
				for _, proto := range []string{"udp", "tcp"} {
					if !seen[ip+" "+proto] {
						t.Errorf("no %s candidate with %s in %q", proto, ip, cands)
					}
				}
			}
		})
	}
}

// TestIPv6Candidates checks that without --public-ip the server announces
// IPv6 host candidates (UDP and ICE-TCP) beside IPv4 ones.
func TestIPv6Candidates(t *testing.T) {
	hostIPv6(t)
	m := startServer(t, "")
	var v4, v6 bool
	for _, cand := range serverCandidates(t, m) {
		if f := strings.Fields(cand); len(f) > 4 {
			v6 = v6 || strings.Contains(f[4], ":")
			v4 = v4 || strings.Contains(f[4], ".")
		}
	}
	if !v4 || !v6 {
		t.Errorf("candidates: IPv4 %v, IPv6 %v; want both", v4, v6)
	}
}

// serverCandidates joins a new room over a raw WebSocket and returns the
// server's ICE candidates (the a=candidate lines of its offer and the
// trickled ones) gathered within a few seconds.
func serverCandidates(t *testing.T, m *Main) []string {
	t.Helper()
	link := createRoom(t, m, "candidates")
	c := dialRaw(t, m, nil)
	c.send(joinMsg(joinToken(t, m, link)))
	var cands []string
	quiet := time.Now().Add(10 * time.Second)
	for time.Now().Before(quiet) {
		_ = c.conn.SetReadDeadline(quiet)
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			break
		}
		msg, perr := protocol.Decode(data)
		if perr != nil {
			t.Fatalf("server sent undecodable %s: %s", data, perr.Message)
		}
		switch msg := msg.(type) {
		case *protocol.Offer:
			for _, line := range strings.Split(msg.SDP, "\n") {
				if strings.HasPrefix(line, "a=candidate:") {
					cands = append(cands, strings.TrimPrefix(strings.TrimSpace(line), "a="))
				}
			}
		case *protocol.Candidate:
			cands = append(cands, msg.Candidate.Candidate)
		}
		if len(cands) > 0 && quiet.Sub(time.Now()) > time.Second {
			quiet = time.Now().Add(time.Second) // the rest trickle in soon after the first
		}
	}
	if len(cands) == 0 {
		t.Fatal("no candidates from the server")
	}
	return cands
}

// TestTLS checks parley serves HTTPS with --tls-cert/--tls-key and that its
// links are https.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	m := NewMain(Config{Listen: "127.0.0.1:0", DataDir: dir, TCPPort: -1, TLSCert: certFile, TLSKey: keyFile}, testLogger())
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !strings.HasPrefix(m.URL(), "https://localhost:") {
		t.Fatalf("URL %q is not https", m.URL())
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get(m.LocalURL() + "/api/v1/health")
	if err != nil {
		t.Fatalf("https health: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("health over TLS: %s", resp.Status)
	}
	_, link, err := m.CreateRoom(context.Background(), "secure")
	if err != nil || !strings.HasPrefix(link, "https://") {
		t.Fatalf("link %q, %v", link, err)
	}
	hc.CloseIdleConnections()

	bad := NewMain(Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), TLSCert: certFile}, testLogger())
	if err := bad.Run(context.Background()); err == nil {
		bad.Close()
		t.Fatal("a certificate without a key was accepted")
	}
}

func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
