package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// bufferedConn keeps what net/http's reader already buffered past the request head: a client may send its
// first SYN_STREAM without waiting for the 101.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// hijack takes the connection from net/http and answers 101 with the headers apimachinery's
// ResponseUpgrader sends.
func hijack(w http.ResponseWriter, protocol string) (net.Conn, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, fmt.Errorf("unable to upgrade: unable to hijack response")
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return nil, fmt.Errorf("unable to upgrade: error hijacking response: %v", err)
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n")
	if protocol != "" {
		b.WriteString("X-Stream-Protocol-Version: " + protocol + "\r\n")
	}
	b.WriteString("Date: " + time.Now().UTC().Format(http.TimeFormat) + "\r\n\r\n")
	if _, err := conn.Write([]byte(b.String())); err != nil {
		conn.Close()
		return nil, err
	}
	return &bufferedConn{Conn: conn, r: rw.Reader}, nil
}
