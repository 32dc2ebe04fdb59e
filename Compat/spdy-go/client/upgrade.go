package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// upgradeError is a refused upgrade: the HTTP answer is kept for the report and the message is kubectl's.
type upgradeError struct {
	status int
	msg    string
}

func (e *upgradeError) Error() string { return e.msg }

// bufferedConn keeps the bytes the HTTP response reader already pulled past the 101 head: a server may start
// sending SPDY frames in the same segment, and they belong to the SPDY session.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func dial(o *options) (net.Conn, error) {
	host := o.url.Host
	if o.url.Port() == "" {
		if o.url.Scheme == "https" {
			host = net.JoinHostPort(o.url.Hostname(), "443")
		} else {
			host = net.JoinHostPort(o.url.Hostname(), "80")
		}
	}
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if o.url.Scheme != "https" {
		return d.Dial("tcp", host)
	}
	cfg := &tls.Config{
		ServerName:         o.url.Hostname(),
		InsecureSkipVerify: o.insecure,
		// client-go forces HTTP/1.1 on upgrade requests: ALPN must not pick h2 here.
		NextProtos: []string{"http/1.1"},
	}
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificates in %s", o.caFile)
		}
		cfg.RootCAs = pool
	}
	return tls.DialWithDialer(d, "tcp", host, cfg)
}

// upgrade sends the exec request as client-go's SpdyRoundTripper does (net/http's request writer, one
// X-Stream-Protocol-Version line per offered version) and returns the connection, now speaking SPDY, with the
// version the server chose ("" when it named none).
func upgrade(o *options, rep *report) (net.Conn, string, error) {
	conn, err := dial(o)
	if err != nil {
		return nil, "", fmt.Errorf("error dialing backend: %v", err)
	}
	req, err := http.NewRequest(o.method, o.url.String(), nil)
	if err != nil {
		conn.Close()
		return nil, "", fmt.Errorf("error creating request: %v", err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "SPDY/3.1")
	req.Header.Set("User-Agent", "spdy-exec-client/1.0 (like client-go)")
	if !o.noVersionHeader {
		for _, v := range o.versions {
			req.Header.Add("X-Stream-Protocol-Version", v)
		}
	}
	for _, h := range o.headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			conn.Close()
			return nil, "", fmt.Errorf("bad -H %q: want 'Name: value'", h)
		}
		req.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, "", fmt.Errorf("error sending request: %v", err)
	}
	br := bufio.NewReaderSize(conn, 64*1024)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		conn.Close()
		return nil, "", fmt.Errorf("error reading upgrade response: %v", err)
	}
	conn.SetDeadline(time.Time{})
	rep.set("http_status", fmt.Sprint(resp.StatusCode))
	if acc := resp.Header.Values("X-Accepted-Stream-Protocol-Versions"); len(acc) > 0 {
		rep.set("accepted_versions", strings.Join(acc, ","))
	}
	protocol := resp.Header.Get("X-Stream-Protocol-Version")
	rep.set("protocol", protocol)
	o.logf("upgrade answer: %s, protocol %q", resp.Status, protocol)

	connection := strings.ToLower(resp.Header.Get("Connection"))
	upgradeTo := strings.ToLower(resp.Header.Get("Upgrade"))
	if resp.StatusCode != http.StatusSwitchingProtocols || !strings.Contains(connection, "upgrade") ||
		!strings.Contains(upgradeTo, "spdy/3.1") {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64*1024))
		conn.Close()
		rep.set("body", fmt.Sprintf("%q", body))
		return nil, "", &upgradeError{status: resp.StatusCode, msg: "unable to upgrade connection: " + statusMessage(body)}
	}
	return &bufferedConn{Conn: conn, r: br}, protocol, nil
}

// statusMessage is what client-go shows for a refused upgrade: a Status body's message, else the trimmed body.
func statusMessage(body []byte) string {
	var st struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &st) == nil && st.Kind == "Status" && st.Message != "" {
		return st.Message
	}
	return strings.TrimSpace(string(body))
}
