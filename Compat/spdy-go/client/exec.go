package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/moby/spdystream"
)

const (
	protocolV1 = "channel.k8s.io"
	protocolV2 = "v2.channel.k8s.io"
	protocolV3 = "v3.channel.k8s.io"
	protocolV4 = "v4.channel.k8s.io"
	protocolV5 = "v5.channel.k8s.io"
)

// versionNumber maps a negotiated protocol to client-go's stream handler; "" falls back to v1 as client-go does.
func versionNumber(protocol string) (int, error) {
	switch protocol {
	case "", protocolV1:
		return 1, nil
	case protocolV2:
		return 2, nil
	case protocolV3:
		return 3, nil
	case protocolV4:
		return 4, nil
	case protocolV5:
		// v5 only adds the WebSocket close signal; over SPDY client-go runs it as v4.
		return 4, nil
	}
	return 0, fmt.Errorf("server chose unsupported protocol %q", protocol)
}

// session holds the streams of one exec, opened in client-go's order.
type session struct {
	conn    *spdystream.Connection
	version int
	errorS  *spdystream.Stream
	stdinS  *spdystream.Stream
	stdoutS *spdystream.Stream
	stderrS *spdystream.Stream
	resizeS *spdystream.Stream
	all     []*spdystream.Stream
}

// run performs the exec and returns the process exit code kubectl would exit with.
func run(o *options, rep *report) int {
	netConn, protocol, err := upgrade(o, rep)
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		return 1
	}
	version, err := versionNumber(protocol)
	if err != nil {
		netConn.Close()
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		return 1
	}
	rep.set("version", fmt.Sprint(version))

	conn, err := spdystream.NewConnection(netConn, false)
	if err != nil {
		netConn.Close()
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		return 1
	}
	// Streams the server opens are answered and ignored, as client-go's NoOpNewStreamHandler does.
	go conn.Serve(spdystream.NoOpStreamHandler)
	stopPings := startPings(o, conn)
	s := &session{conn: conn, version: version}
	defer func() {
		close(stopPings)
		s.close()
	}()

	if err := s.createStreams(o); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		return 1
	}
	rep.set("streams", fmt.Sprint(len(s.all)))
	result := s.stream(o)
	return exitCode(result, rep)
}

func startPings(o *options, conn *spdystream.Connection) chan struct{} {
	stop := make(chan struct{})
	if o.pingPeriod <= 0 {
		return stop
	}
	go func() {
		t := time.NewTicker(o.pingPeriod)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-conn.CloseChan():
				return
			case <-t.C:
				if rtt, err := conn.Ping(); err != nil {
					o.logf("ping failed: %v", err)
				} else {
					o.logf("ping rtt %s", rtt)
				}
			}
		}
	}()
	return stop
}

// createStream opens one stream with only the streamType header and blocks on its SYN_REPLY, as
// apimachinery's spdy connection.CreateStream does: the next stream is opened only once this one is answered.
func (s *session) createStream(o *options, streamType string) (*spdystream.Stream, error) {
	h := http.Header{}
	h.Set("streamType", streamType)
	st, err := s.conn.CreateStream(h, nil, false)
	if err != nil {
		return nil, err
	}
	if err := st.WaitTimeout(o.streamTimeout); err != nil {
		return nil, fmt.Errorf("creating %s stream: %v", streamType, err)
	}
	o.logf("stream %d (%s) answered", st.Identifier(), streamType)
	s.all = append(s.all, st)
	return st, nil
}

func (s *session) createStreams(o *options) (err error) {
	if s.errorS, err = s.createStream(o, "error"); err != nil {
		return err
	}
	if o.stdin {
		if s.stdinS, err = s.createStream(o, "stdin"); err != nil {
			return err
		}
	}
	if o.stdout {
		if s.stdoutS, err = s.createStream(o, "stdout"); err != nil {
			return err
		}
	}
	if o.stderr && !o.tty {
		if s.stderrS, err = s.createStream(o, "stderr"); err != nil {
			return err
		}
	}
	if o.tty && s.version >= 3 {
		if s.resizeS, err = s.createStream(o, "resize"); err != nil {
			return err
		}
	}
	return nil
}

// stream copies the channels and returns the remote result (nil = success), following client-go's
// streamProtocolV1..V4: wait for stdout and stderr to end, then for the error stream.
func (s *session) stream(o *options) error {
	errorCh := watchErrorStream(s.errorS, s.version, o.strict, o.statusPath)

	if s.resizeS != nil && o.resize != nil {
		// json.Encoder adds the "\n" that the server's json.Decoder stream expects.
		if err := json.NewEncoder(s.resizeS).Encode(o.resize); err != nil {
			o.logf("resize: %v", err)
		}
	}
	s.copyStdin(o)

	var wg sync.WaitGroup
	copyOut := func(dst io.Writer, src *spdystream.Stream) {
		if src == nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Drain whatever is left so that spdystream's frame worker never blocks on this stream.
			defer io.Copy(io.Discard, src)
			if _, err := io.Copy(dst, src); err != nil {
				o.logf("copy stream %d: %v", src.Identifier(), err)
			}
		}()
	}
	copyOut(os.Stdout, s.stdoutS)
	copyOut(os.Stderr, s.stderrS)
	wg.Wait()

	if s.version == 1 {
		// client-go's v1 returns as soon as stdout/stderr end unless an error text came first; waiting a
		// bounded moment for the error stream keeps the outcome deterministic for tests.
		select {
		case err := <-errorCh:
			return err
		case <-time.After(o.v1ErrorGrace):
			o.logf("v1: error stream still open after %s; reporting success as client-go would", o.v1ErrorGrace)
			return nil
		}
	}
	return <-errorCh
}

func (s *session) copyStdin(o *options) {
	if s.stdinS == nil {
		return
	}
	var once sync.Once
	closeStdin := func() {
		once.Do(func() {
			if err := s.stdinS.Close(); err != nil {
				o.logf("closing stdin: %v", err)
			}
		})
	}
	go func() {
		if _, err := io.Copy(s.stdinS, os.Stdin); err != nil {
			o.logf("copy stdin: %v", err)
		}
		if s.version == 1 {
			// v1 has no usable stdin EOF: client-go never half-closes it.
			return
		}
		o.logf("stdin EOF: half-closing stream %d", s.stdinS.Identifier())
		closeStdin()
	}()
	if s.version >= 2 {
		// client-go also closes its half when the server closes the stdin stream first.
		go func() {
			io.Copy(io.Discard, s.stdinS)
			closeStdin()
		}()
	}
}

// close tears the connection down as apimachinery's connection.Close does: reset every stream, then GOAWAY.
func (s *session) close() {
	for _, st := range s.all {
		st.Reset()
	}
	s.conn.Close()
}

// exitCode turns the remote result into kubectl's exit code and message.
func exitCode(result error, rep *report) int {
	if result == nil {
		return 0
	}
	var ce codeExitError
	if errors.As(result, &ce) {
		fmt.Fprintf(os.Stderr, "command terminated with exit code %d\n", ce.code)
		return ce.code
	}
	rep.set("error", fmt.Sprintf("%q", result.Error()))
	fmt.Fprintf(os.Stderr, "error: %v\n", result)
	return 1
}
