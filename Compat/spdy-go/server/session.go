package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/moby/spdystream"
)

// session is one exec on one upgraded connection.
type session struct {
	cfg      *config
	netConn  net.Conn
	conn     *spdystream.Connection
	protocol string
	version  int
	opts     streamOptions
	argv     []string
	target   target

	arrived  chan struct{}
	mu       sync.Mutex
	byType   map[string]*spdystream.Stream
	all      []*spdystream.Stream
	started  bool
	size     *terminalSize
	ptmx     *os.File
	expected int
}

type terminalSize struct{ Width, Height uint16 }

func newSession(cfg *config, netConn net.Conn, protocol string, opts streamOptions, argv []string, t target) *session {
	s := &session{
		cfg: cfg, netConn: netConn, protocol: protocol, version: versionNumber(protocol),
		opts: opts, argv: argv, target: t,
		arrived: make(chan struct{}, 8),
		byType:  map[string]*spdystream.Stream{},
	}
	s.expected = 1
	for _, want := range []bool{opts.stdin, opts.stdout, opts.stderr, s.wantsResize()} {
		if want {
			s.expected++
		}
	}
	return s
}

func (s *session) wantsResize() bool { return s.opts.tty && s.version >= 3 }

func (s *session) wants(streamType string) bool {
	switch streamType {
	case "error":
		return true
	case "stdin":
		return s.opts.stdin
	case "stdout":
		return s.opts.stdout
	case "stderr":
		return s.opts.stderr
	case "resize":
		return s.wantsResize()
	}
	return false
}

func (s *session) stream(streamType string) *spdystream.Stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byType[streamType]
}

// newStream runs on a spdystream frame worker for each SYN_STREAM. Every stream is answered at once (clients
// block on each reply before opening the next). A stream the session does not use is still read to the end:
// spdystream hands DATA to readers synchronously, so an unread stream would stall its frame worker.
func (s *session) newStream(st *spdystream.Stream) {
	streamType := strings.ToLower(st.Headers().Get("streamType"))
	s.mu.Lock()
	s.all = append(s.all, st)
	use := !s.started && s.wants(streamType) && s.byType[streamType] == nil
	if use {
		s.byType[streamType] = st
	}
	s.mu.Unlock()
	if err := st.SendReply(http.Header{}, false); err != nil {
		s.cfg.logf("reply to stream %d: %v", st.Identifier(), err)
	}
	s.cfg.logf("stream %d streamType=%q used=%v", st.Identifier(), streamType, use)
	if use {
		s.arrived <- struct{}{}
		return
	}
	go io.Copy(io.Discard, st)
}

// serve waits for the expected streams, runs the command, writes the status and tears down. It returns a
// one-line result for the request log.
func (s *session) serve() string {
	conn, err := spdystream.NewConnection(s.netConn, true)
	if err != nil {
		s.netConn.Close()
		return "spdy: " + err.Error()
	}
	s.conn = conn
	conn.SetIdleTimeout(s.cfg.idleTimeout)
	go conn.Serve(s.newStream)

	timer := time.NewTimer(s.cfg.streamTimeout)
	defer timer.Stop()
	for n := 0; n < s.expected; {
		select {
		case <-s.arrived:
			n++
		case <-timer.C:
			s.cfg.logf("timed out waiting for client to create streams")
			s.teardownClassic(nil)
			return "timed out waiting for client to create streams"
		case <-conn.CloseChan():
			s.netConn.Close()
			return "client went away before creating its streams"
		}
	}
	s.mu.Lock()
	s.started = true
	s.mu.Unlock()

	if stdin := s.stream("stdin"); stdin != nil && s.version == 1 {
		// v1 (kubelet's v1ProtocolHandler): the server closes its half of stdin at once.
		stdin.Close()
	}
	if resize := s.stream("resize"); resize != nil {
		go s.readResizes(resize)
	}

	st := s.execute()
	s.cfg.logf("session result: %s", st.summary())
	switch s.cfg.teardown {
	case "drop":
		s.netConn.Close()
		return "dropped: " + st.summary()
	case "graceful":
		s.teardownGraceful(st)
	default:
		s.teardownClassic(st)
	}
	return st.summary()
}

// readResizes decodes the resize stream as kubelet's handleResizeEvents does (a JSON stream, keys
// case-insensitive), ignoring sizes below 1.
func (s *session) readResizes(r io.Reader) {
	defer io.Copy(io.Discard, r)
	dec := json.NewDecoder(r)
	for {
		var size terminalSize
		if err := dec.Decode(&size); err != nil {
			if _, ok := err.(*json.UnmarshalTypeError); ok {
				continue
			}
			return
		}
		if size.Width < 1 || size.Height < 1 {
			continue
		}
		s.cfg.logf("resize %dx%d", size.Width, size.Height)
		s.mu.Lock()
		s.size = &size
		if s.ptmx != nil {
			setWinsize(s.ptmx, size.Width, size.Height)
		}
		s.mu.Unlock()
	}
}

func (s *session) writeStatus(st *apiStatus) {
	errStream := s.stream("error")
	if errStream == nil || st == nil {
		return
	}
	if b := st.encode(s.version); len(b) > 0 {
		if _, err := errStream.Write(b); err != nil {
			s.cfg.logf("writing status: %v", err)
		}
	}
}

// teardownClassic is kubelet's end of ServeExec: write the status, then apimachinery's connection.Close:
// RST_STREAM CANCEL on every stream not yet finished, GOAWAY, close the TCP connection.
func (s *session) teardownClassic(st *apiStatus) {
	s.writeStatus(st)
	s.mu.Lock()
	streams := append([]*spdystream.Stream(nil), s.all...)
	s.mu.Unlock()
	for _, x := range streams {
		x.Reset()
	}
	s.closeConnection()
}

// teardownGraceful is the modern order: end every output, write the status and end it, then wait for the
// client to read and go away before closing (kubernetes/kubernetes#124571).
func (s *session) teardownGraceful(st *apiStatus) {
	for _, name := range []string{"stdout", "stderr"} {
		if x := s.stream(name); x != nil {
			x.Close()
		}
	}
	s.writeStatus(st)
	for _, name := range []string{"error", "stdin", "resize"} {
		if x := s.stream(name); x != nil && !(name == "stdin" && s.version == 1) {
			x.Close()
		}
	}
	select {
	case <-s.conn.CloseChan():
	case <-time.After(s.cfg.linger):
		s.cfg.logf("client still connected after %s; closing", s.cfg.linger)
	}
	s.closeConnection()
}

// closeConnection sends GOAWAY and closes. spdystream's own shutdown waits for every stream to be removed, so
// the TCP connection is closed here after a bounded wait whatever state the streams are in.
func (s *session) closeConnection() {
	s.conn.Close()
	s.conn.Wait(2 * time.Second)
	s.netConn.Close()
}
