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
	"strings"
	"testing"
	"time"

	"github.com/parley-dev/parley/signaling/protocol"
)

// TestPublicIPAnnounced checks --public-ip replaces local addresses in the
// server's ICE candidates.
func TestPublicIPAnnounced(t *testing.T) {
	m := NewMain(Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), TCPPort: -1, PublicIPs: []string{"203.0.113.7"}}, testLogger())
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	link := createRoom(t, m, "public")
	c := dialRaw(t, m, nil)
	c.send(joinMsg(joinToken(t, m, link)))
	deadline := time.Now().Add(10 * time.Second)
	var cands []string
	for time.Now().Before(deadline) && len(cands) == 0 {
		switch msg := c.next().(type) {
		case *protocol.Offer:
			for _, line := range strings.Split(msg.SDP, "\n") {
				if strings.HasPrefix(line, "a=candidate:") {
					cands = append(cands, strings.TrimSpace(line))
				}
			}
		case *protocol.Candidate:
			cands = append(cands, msg.Candidate.Candidate)
		}
	}
	if len(cands) == 0 {
		t.Fatal("no candidates from the server")
	}
	for _, cand := range cands {
		if !strings.Contains(cand, " 203.0.113.7 ") {
			t.Errorf("candidate %q does not carry the public IP", cand)
		}
	}
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
