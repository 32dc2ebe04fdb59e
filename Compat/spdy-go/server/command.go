package main

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"

	"github.com/moby/spdystream"
)

// execute runs argv exactly (no shell) as a local process wired to the session's streams and returns the
// status to report. It returns once the process has exited and its output is drained.
func (s *session) execute() *apiStatus {
	cmd := exec.Command(s.argv[0], s.argv[1:]...)
	cmd.Env = append(os.Environ(),
		"EXEC_NAMESPACE="+s.target.namespace, "EXEC_POD="+s.target.pod,
		"EXEC_CONTAINER="+s.target.container, "EXEC_POD_UID="+s.target.uid,
		"EXEC_PROTOCOL="+s.protocol)
	if s.opts.tty {
		return s.executeTTY(cmd)
	}
	return s.executePipes(cmd)
}

func (s *session) executePipes(cmd *exec.Cmd) *apiStatus {
	// Its own process group, so that a client going away takes any children down with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var childEnds, parentEnds []*os.File
	closeAll := func(fs []*os.File) {
		for _, f := range fs {
			f.Close()
		}
	}
	// Output goes through pipes this code owns, not StdoutPipe: Wait would close those before they are drained.
	outputPipe := func(st *spdystream.Stream) (*os.File, error) {
		if st == nil {
			return nil, nil // os/exec connects /dev/null
		}
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		childEnds = append(childEnds, w)
		parentEnds = append(parentEnds, r)
		return r, nil
	}
	stdoutS, stderrS, stdinS := s.stream("stdout"), s.stream("stderr"), s.stream("stdin")
	stdoutR, err := outputPipe(stdoutS)
	if err != nil {
		return internalError(err)
	}
	stderrR, err := outputPipe(stderrS)
	if err != nil {
		closeAll(childEnds)
		closeAll(parentEnds)
		return internalError(err)
	}
	if stdoutR != nil {
		cmd.Stdout = childEnds[0]
	}
	if stderrR != nil {
		cmd.Stderr = childEnds[len(childEnds)-1]
	}
	var stdinW io.WriteCloser
	if stdinS != nil {
		// StdinPipe, not cmd.Stdin = stream: with a plain Reader, Wait would wait for the client's stdin EOF.
		if stdinW, err = cmd.StdinPipe(); err != nil {
			closeAll(childEnds)
			closeAll(parentEnds)
			return internalError(err)
		}
	}

	err = cmd.Start()
	closeAll(childEnds)
	if err != nil {
		closeAll(parentEnds)
		if stdinW != nil {
			stdinW.Close()
		}
		return internalError(err)
	}
	done := make(chan struct{})
	defer close(done)
	go s.killOnClientLoss(cmd, done)

	if stdinW != nil {
		go func() {
			// Client's half-close (FIN) = EOF = close the child's stdin.
			io.Copy(stdinW, stdinS)
			stdinW.Close()
		}()
	}
	var outputs sync.WaitGroup
	pump := func(dst *spdystream.Stream, src *os.File) {
		if src == nil {
			return
		}
		outputs.Add(1)
		go func() {
			defer outputs.Done()
			defer src.Close()
			if _, err := io.Copy(dst, src); err != nil {
				// The client is gone: keep draining so the child never blocks on a full pipe.
				io.Copy(io.Discard, src)
			}
		}()
	}
	pump(stdoutS, stdoutR)
	pump(stderrS, stderrR)
	outputs.Wait()
	return statusOf(cmd.Wait())
}

func (s *session) executeTTY(cmd *exec.Cmd) *apiStatus {
	ptmx, tty, err := openPTY()
	if err != nil {
		return internalError(err)
	}
	defer ptmx.Close()
	s.mu.Lock()
	s.ptmx = ptmx
	if s.size != nil {
		setWinsize(ptmx, s.size.Width, s.size.Height)
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.ptmx = nil
		s.mu.Unlock()
	}()

	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = cmd.Start()
	tty.Close()
	if err != nil {
		return internalError(err)
	}
	done := make(chan struct{})
	defer close(done)
	go s.killOnClientLoss(cmd, done)

	if stdinS := s.stream("stdin"); stdinS != nil {
		go func() {
			if _, err := io.Copy(ptmx, stdinS); err == nil {
				// A terminal has no half-close: stdin EOF becomes ^D, as typing it would.
				ptmx.Write([]byte{4})
			}
		}()
	}
	var out io.Writer = io.Discard
	if st := s.stream("stdout"); st != nil {
		out = st
	}
	// The master reads EIO once the last holder of the terminal is gone: that is the end of output.
	if _, err := io.Copy(out, ptmx); err != nil && !errors.Is(err, syscall.EIO) {
		io.Copy(io.Discard, ptmx)
	}
	return statusOf(cmd.Wait())
}

// killOnClientLoss ends the process group when the client connection goes away before the process does.
func (s *session) killOnClientLoss(cmd *exec.Cmd, done <-chan struct{}) {
	select {
	case <-done:
	case <-s.conn.CloseChan():
		s.cfg.logf("client gone: killing process group %d", cmd.Process.Pid)
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

// statusOf maps Wait's result like ServeExec does; a signal death reads as 128+signal, as runtimes report it.
func statusOf(err error) *apiStatus {
	if err == nil {
		return successStatus()
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code := exitErr.ExitCode()
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		return exitStatus(code&0xff, exitErr.Error())
	}
	return internalError(err)
}
