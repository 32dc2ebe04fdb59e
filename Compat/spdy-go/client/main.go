// Command spdy-exec-client runs one exec over SPDY/3.1 the way client-go's SPDY executor (kubectl exec) does,
// so that ExecBridge can be tested against the real third-party stack (moby/spdystream) rather than its own codec.
//
//	spdy-exec-client [flags] URL
//
// The URL carries the whole exec query (the caller builds it); which streams are opened follows the query's flags
// (kubelet style input/output/error/tty=1 or apiserver style stdin/stdout/stderr/tty) unless a flag says otherwise.
// The process exits with the remote command's exit code, like kubectl.
package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

const defaultVersions = "v4.channel.k8s.io,v3.channel.k8s.io,v2.channel.k8s.io,channel.k8s.io"

type options struct {
	url             *url.URL
	method          string
	versions        []string
	noVersionHeader bool
	stdin           bool
	stdout          bool
	stderr          bool
	tty             bool
	resize          *terminalSize
	headers         []string
	insecure        bool
	caFile          string
	pingPeriod      time.Duration
	streamTimeout   time.Duration
	timeout         time.Duration
	v1ErrorGrace    time.Duration
	strict          bool
	reportPath      string
	statusPath      string
	verbose         bool
}

type headerList []string

func (h *headerList) String() string     { return strings.Join(*h, ", ") }
func (h *headerList) Set(v string) error { *h = append(*h, v); return nil }

func usage() {
	fmt.Fprintf(os.Stderr, "usage: spdy-exec-client [flags] URL\n\n"+
		"Runs one exec over SPDY/3.1 like client-go (kubectl exec) and exits with the remote exit code.\n"+
		"Exit codes: remote code; 1 on any other error; 124 when -timeout expires.\n\nflags:\n")
	flag.PrintDefaults()
}

func parseOptions() (*options, error) {
	o := &options{}
	var versions, resize string
	var headers headerList
	flag.Usage = usage
	flag.StringVar(&o.method, "method", "POST", "HTTP method of the upgrade request (kubectl uses POST)")
	flag.StringVar(&versions, "versions", defaultVersions, "comma-separated X-Stream-Protocol-Version values, preferred first; each is sent as its own header line")
	flag.BoolVar(&o.noVersionHeader, "no-version-header", false, "send no X-Stream-Protocol-Version at all (a 2015 client)")
	flag.BoolVar(&o.stdin, "stdin", false, "open the stdin stream and copy this process's stdin to it (default: from the URL query)")
	flag.BoolVar(&o.stdout, "stdout", false, "open the stdout stream (default: from the URL query)")
	flag.BoolVar(&o.stderr, "stderr", false, "open the stderr stream (default: from the URL query)")
	flag.BoolVar(&o.tty, "tty", false, "terminal session: no stderr stream, a resize stream from v3 on (default: from the URL query)")
	flag.StringVar(&resize, "resize", "", "WxH: send this terminal size on the resize stream right after the streams exist")
	flag.Var(&headers, "H", "extra request header 'Name: value' (repeatable), e.g. Authorization")
	flag.BoolVar(&o.insecure, "insecure", false, "https: do not verify the server certificate")
	flag.StringVar(&o.caFile, "cacert", "", "https: PEM file of CA certificates to trust")
	flag.DurationVar(&o.pingPeriod, "ping", 5*time.Second, "SPDY PING period (client-go: 5s); 0 disables")
	flag.DurationVar(&o.streamTimeout, "stream-timeout", 30*time.Second, "how long to wait for each stream's SYN_REPLY (client-go: 30s)")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up on the whole exec after this long (exit 124); 0 = never")
	flag.DurationVar(&o.v1ErrorGrace, "v1-error-grace", 5*time.Second, "v1 only: how long to wait for the error stream once stdout/stderr ended")
	flag.BoolVar(&o.strict, "strict", false, "v4: treat an error stream that ends without a Status as a failure (client-go reports success)")
	flag.StringVar(&o.reportPath, "report", "", "write a key=value summary (http_status, protocol, exit, ...) to this file")
	flag.StringVar(&o.statusPath, "save-error-stream", "", "write the raw bytes received on the error stream to this file")
	flag.BoolVar(&o.verbose, "v", false, "log the steps to stderr")
	flag.Parse()

	if flag.NArg() != 1 {
		usage()
		return nil, fmt.Errorf("exactly one URL argument is required")
	}
	u, err := url.Parse(flag.Arg(0))
	if err != nil {
		return nil, fmt.Errorf("bad URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("bad URL %q: scheme must be http or https", flag.Arg(0))
	}
	o.url = u
	for _, v := range strings.Split(versions, ",") {
		if v = strings.TrimSpace(v); v != "" {
			o.versions = append(o.versions, v)
		}
	}
	o.headers = headers
	if resize != "" {
		size, err := parseSize(resize)
		if err != nil {
			return nil, err
		}
		o.resize = &size
	}

	// The query decides which streams exist, as it does for the server; explicit flags win.
	q := queryStreams(u.Query())
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["stdin"] {
		o.stdin = q.stdin
	}
	if !set["stdout"] {
		o.stdout = q.stdout
	}
	if !set["stderr"] {
		o.stderr = q.stderr
	}
	if !set["tty"] {
		o.tty = q.tty
	}
	return o, nil
}

func main() {
	o, err := parseOptions()
	if err != nil {
		fmt.Fprintf(os.Stderr, "spdy-exec-client: %v\n", err)
		os.Exit(2)
	}
	rep := newReport(o.reportPath)
	if o.timeout > 0 {
		time.AfterFunc(o.timeout, func() {
			fmt.Fprintf(os.Stderr, "spdy-exec-client: timed out after %s\n", o.timeout)
			rep.set("timeout", "1")
			rep.finish(124)
			os.Exit(124)
		})
	}
	code := run(o, rep)
	rep.finish(code)
	os.Exit(code)
}

func (o *options) logf(format string, args ...interface{}) {
	if o.verbose {
		fmt.Fprintf(os.Stderr, "spdy-exec-client: "+format+"\n", args...)
	}
}
