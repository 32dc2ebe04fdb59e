// Command spdy-exec-server is a container runtime's streaming server in miniature: kubelet's remotecommand over
// SPDY/3.1 (moby/spdystream), running the command as a local process. It is an upstream for ExecBridge's
// tests and the benchmark anchor; it serves only loopback addresses because it runs whatever it is asked.
//
//	spdy-exec-server [-listen 127.0.0.1:0] [-port-file F] [-versions ...] [-teardown classic|graceful|drop]
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

const defaultVersions = "v4.channel.k8s.io,v3.channel.k8s.io,v2.channel.k8s.io,channel.k8s.io"

type config struct {
	versions      []string
	streamTimeout time.Duration
	idleTimeout   time.Duration
	teardown      string
	linger        time.Duration
	requestLog    *requestLog
	verbose       bool
}

func (c *config) logf(format string, args ...interface{}) {
	if c.verbose {
		log.Printf(format, args...)
	}
}

func main() {
	var (
		listen, portFile, versions, logPath string
		cfg                                 config
	)
	flag.StringVar(&listen, "listen", "127.0.0.1:0", "loopback address to listen on (port 0 = any free port)")
	flag.StringVar(&portFile, "port-file", "", "write the chosen port to this file once listening")
	flag.StringVar(&versions, "versions", defaultVersions, "comma-separated protocols the server accepts")
	flag.DurationVar(&cfg.streamTimeout, "stream-timeout", 30*time.Second, "how long to wait for the client's streams (kubelet: 30s)")
	flag.DurationVar(&cfg.idleTimeout, "idle-timeout", 4*time.Hour, "close a connection idle this long (kubelet: 4h)")
	flag.StringVar(&cfg.teardown, "teardown", "classic",
		"end of session: classic = status, RST_STREAM CANCEL, GOAWAY, close (kubelet); "+
			"graceful = FIN every stream, status, wait for the client to go (up to -linger), GOAWAY, close; "+
			"drop = close the TCP connection without any status (a lost backend)")
	flag.DurationVar(&cfg.linger, "linger", 10*time.Second, "graceful teardown: longest wait for the client to close")
	flag.StringVar(&logPath, "request-log", "", "append one JSON line per exec request (method, path, query, versions, chosen)")
	flag.BoolVar(&cfg.verbose, "v", false, "log each request and session step to stderr")
	flag.Parse()
	log.SetPrefix("spdy-exec-server: ")
	log.SetFlags(log.Lmicroseconds)

	for _, v := range strings.Split(versions, ",") {
		if v = strings.TrimSpace(v); v != "" {
			cfg.versions = append(cfg.versions, v)
		}
	}
	if len(cfg.versions) == 0 {
		log.Fatal("-versions: at least one protocol is required")
	}
	switch cfg.teardown {
	case "classic", "graceful", "drop":
	default:
		log.Fatalf("-teardown %q: want classic, graceful or drop", cfg.teardown)
	}
	if logPath != "" {
		rl, err := openRequestLog(logPath)
		if err != nil {
			log.Fatal(err)
		}
		cfg.requestLog = rl
	}
	if err := requireLoopback(listen); err != nil {
		log.Fatal(err)
	}

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		log.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if portFile != "" {
		// Write then rename so a poller never reads a half-written number.
		tmp := portFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%d\n", port)), 0o644); err != nil {
			log.Fatal(err)
		}
		if err := os.Rename(tmp, portFile); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("listening on %s\n", ln.Addr())

	srv := &http.Server{
		Handler:           &handler{cfg: &cfg},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.Default(),
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		ln.Close()
		os.Exit(0)
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

func requireLoopback(listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("-listen %q: %v", listen, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-listen %q: only loopback addresses are served (this server runs arbitrary commands)", listen)
	}
	return nil
}
