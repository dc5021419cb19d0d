// A minimal HBONE terminator for the peers bench (bench/peers/inbound.ts): mutual TLS 1.3 with
// ALPN h2, HTTP/2 from golang.org/x/net/http2 (the library Istio's Go HBONE code is built on),
// and every CONNECT piped to its authority's TCP address. It stands beside ztunnel-node-b's
// :15008 and does only that job: no authorization, no telemetry, no pool of its own.
//
// Built by the bench at suite start (GO111MODULE=off against Debian's golang-golang-x-net-dev),
// never committed as a binary. It prints "ready <addr>" once listening and exits when its
// stdin closes, so it never outlives the bench that started it.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/net/http2"
)

// dialTimeout bounds the upstream dial, as ztunnel bounds its connect to the app.
const dialTimeout = 10 * time.Second

// copyBuffer is the size of one upstream read: what a loopback TCP read typically returns.
const copyBuffer = 64 * 1024

func main() {
	listen := flag.String("listen", "", "address:port to serve HBONE on")
	certFile := flag.String("cert", "", "PEM certificate chain (SPIFFE URI SAN)")
	keyFile := flag.String("key", "", "PEM private key")
	caFile := flag.String("ca", "", "PEM mesh root: the only trust anchor for client certificates")
	streamWindow := flag.Int("stream-window", 1<<20, "initial stream window (bytes)")
	connWindow := flag.Int("connection-window", 4<<20, "connection window (bytes)")
	maxFrame := flag.Int("max-frame", 1<<20, "SETTINGS_MAX_FRAME_SIZE (bytes)")
	maxStreams := flag.Int("max-streams", 200, "SETTINGS_MAX_CONCURRENT_STREAMS")
	flag.Parse()

	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatalf("certificate: %v", err)
	}
	roots := x509.NewCertPool()
	pem, err := os.ReadFile(*caFile)
	if err != nil || !roots.AppendCertsFromPEM(pem) {
		log.Fatalf("mesh root %s: %v", *caFile, err)
	}
	tlsConfig := &tls.Config{
		Certificates:          []tls.Certificate{cert},
		ClientAuth:            tls.RequireAndVerifyClientCert,
		ClientCAs:             roots,
		MinVersion:            tls.VersionTLS13,
		MaxVersion:            tls.VersionTLS13,
		NextProtos:            []string{"h2"},
		VerifyPeerCertificate: requireSpiffeID,
	}
	h2 := &http2.Server{
		MaxConcurrentStreams:         uint32(*maxStreams),
		MaxReadFrameSize:             uint32(*maxFrame),
		MaxUploadBufferPerStream:     int32(*streamWindow),
		MaxUploadBufferPerConnection: int32(*connWindow),
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("listen %s: %v", *listen, err)
	}
	fmt.Printf("ready %s\n", ln.Addr())
	go exitWhenStdinCloses()

	handler := http.HandlerFunc(connect)
	for {
		raw, err := ln.Accept()
		if err != nil {
			log.Fatalf("accept: %v", err)
		}
		go serve(raw, tlsConfig, h2, handler)
	}
}

// The bench holds our stdin: when it goes away, so do we.
func exitWhenStdinCloses() {
	_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
	os.Exit(0)
}

// A client certificate must carry exactly one spiffe:// URI SAN (the chain is already verified).
func requireSpiffeID(_ [][]byte, chains [][]*x509.Certificate) error {
	if len(chains) == 0 || len(chains[0]) == 0 {
		return fmt.Errorf("no verified client certificate")
	}
	uris := chains[0][0].URIs
	if len(uris) != 1 || uris[0].Scheme != "spiffe" {
		return fmt.Errorf("client certificate has no single SPIFFE ID")
	}
	return nil
}

func serve(raw net.Conn, config *tls.Config, h2 *http2.Server, handler http.Handler) {
	if tcp, ok := raw.(*net.TCPConn); ok {
		_ = tcp.SetNoDelay(true)
	}
	conn := tls.Server(raw, config)
	_ = conn.SetDeadline(time.Now().Add(dialTimeout))
	if err := conn.Handshake(); err != nil {
		_ = conn.Close()
		return
	}
	_ = conn.SetDeadline(time.Time{})
	if conn.ConnectionState().NegotiatedProtocol != "h2" {
		_ = conn.Close()
		return
	}
	h2.ServeConn(conn, &http2.ServeConnOpts{Handler: handler})
}

// hostAddress maps the simulator's cluster address 10.a.b.c to the loopback 127.a.b.c serving it.
func hostAddress(ip string) string {
	if strings.HasPrefix(ip, "10.") {
		return "127." + strings.TrimPrefix(ip, "10.")
	}
	return ip
}

// connect answers one CONNECT: dial the authority, 200, then bytes both ways; each direction's
// end is passed on as a half-close (END_STREAM to FIN, FIN to END_STREAM).
func connect(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	up, err := net.DialTimeout("tcp", net.JoinHostPort(hostAddress(host), port), dialTimeout)
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	defer up.Close()
	tcp := up.(*net.TCPConn)
	_ = tcp.SetNoDelay(true)
	flusher := w.(http.Flusher)
	w.WriteHeader(http.StatusOK)
	flusher.Flush()

	uploaded := make(chan struct{})
	go func() {
		buf := make([]byte, copyBuffer)
		_, _ = io.CopyBuffer(struct{ io.Writer }{tcp}, r.Body, buf)
		_ = tcp.CloseWrite()
		close(uploaded)
	}()
	buf := make([]byte, copyBuffer)
	for {
		n, err := tcp.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				break
			}
			flusher.Flush()
		}
		if err != nil {
			break
		}
	}
	<-uploaded
}
