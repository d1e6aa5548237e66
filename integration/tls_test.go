//go:build integration

package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCA is a certificate authority for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "nixcross test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue makes a key pair the CA signs, in PEM: for a server at the
// address server, or for a client when server is nil.
func (ca *testCA) issue(t *testing.T, server net.IP) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "nixcross test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server != nil {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{server}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// serverPair is a TLS server's certificate for the address ip, the CA's.
func (ca *testCA) serverPair(t *testing.T, ip net.IP) tls.Certificate {
	t.Helper()
	pair, err := tls.X509KeyPair(ca.issue(t, ip))
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// certDir writes a DOCKER_CERT_PATH directory: the CA and a client pair
// it signed.
func (ca *testCA) certDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cert, key := ca.issue(t, nil)
	for name, data := range map[string][]byte{"ca.pem": ca.pem, "cert.pem": cert, "key.pem": key} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// startTLSProxy is startProxy behind TLS, as a daemon with --tlsverify
// serves it: the server's certificate and every client's signed by one CA.
func startTLSProxy(t *testing.T) *daemonProxy {
	t.Helper()
	u, err := url.Parse(docker.DaemonHost())
	if err != nil || u.Scheme != "unix" {
		t.Skipf("the proxy forwards to a unix socket; the daemon is at %s", docker.DaemonHost())
	}
	ca := newTestCA(t)
	pair := ca.serverPair(t, net.IPv4(127, 0, 0, 1))
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool})
	p := &daemonProxy{ln: tln, socket: u.Path, env: []string{"DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=" + ca.certDir(t)}}
	go p.serve()
	t.Cleanup(p.cut)
	return p
}

// TestTLSDaemon: a daemon behind TLS with client certificates builds (the
// flake copied in, the log streamed over TLS); a client whose certificates
// another CA signed is refused before any build, exit 3 naming the daemon.
func TestTLSDaemon(t *testing.T) {
	p := startTLSProxy(t)
	dir := workdir(t)
	args := append([]string{"-H", p.host(), "build", fixtureDir + "#greeting", "--system", "x86_64-linux", "--no-cache"}, offline...)
	r := nixcross(t, dir, p.env, args...)
	if r.code != 0 || !strings.Contains(r.stderr, "copy source") || !strings.Contains(r.stderr, "builder: mode dep") {
		t.Fatalf("build through TLS: exit %d, want 0 with the flake copied and the build's log", r.code)
	}
	if _, err := os.Stat(filepath.Join(dir, "result", "greeting")); err != nil {
		t.Fatalf("no result: %v", err)
	}

	other := newTestCA(t).certDir(t)
	r = nixcross(t, workdir(t), []string{"DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=" + other}, args...)
	if r.code != 3 || !strings.Contains(r.stderr, p.host()) || !strings.Contains(r.stderr, "certificate") {
		t.Fatalf("another CA's client: exit %d, want 3 naming the daemon and the certificate", r.code)
	}
}
