package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// maxErrorStream bounds what is read from the error stream: a Status is a few hundred bytes.
const maxErrorStream = 1 << 20

// codeExitError is client-go's CodeExitError: the remote command ran and exited non-zero.
type codeExitError struct{ code int }

func (e codeExitError) Error() string {
	return fmt.Sprintf("command terminated with exit code %d", e.code)
}

// status is the part of metav1.Status that client-go's errorDecoderV4 looks at.
type status struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
	Details *struct {
		Causes []struct {
			Type    string `json:"reason"`
			Message string `json:"message"`
		} `json:"causes"`
	} `json:"details"`
}

// watchErrorStream reads the whole error stream and decodes it per version, like client-go's watchErrorStream.
// savePath, when set, receives the raw bytes (tests compare the Status byte for byte).
func watchErrorStream(r io.Reader, version int, strict bool, savePath string) <-chan error {
	ch := make(chan error, 1)
	go func() {
		message, err := io.ReadAll(io.LimitReader(r, maxErrorStream))
		if savePath != "" {
			if werr := os.WriteFile(savePath, message, 0o644); werr != nil {
				fmt.Fprintf(os.Stderr, "spdy-exec-client: %v\n", werr)
			}
		}
		switch {
		case err != nil && err != io.EOF:
			ch <- fmt.Errorf("error reading from error stream: %w", err)
		case len(message) > 0:
			ch <- decodeError(message, version)
		case strict && version >= 4:
			ch <- errors.New("error stream ended without a status (a lost backend?)")
		default:
			ch <- nil
		}
	}()
	return ch
}

func decodeError(message []byte, version int) error {
	switch {
	case version == 1:
		return fmt.Errorf("Error executing remote command: %s", message)
	case version < 4:
		return fmt.Errorf("error executing remote command: %s", message)
	}
	// errorDecoderV4.decode
	var st status
	if err := json.Unmarshal(message, &st); err != nil {
		return fmt.Errorf("error stream protocol error: %v in %q", err, string(message))
	}
	switch st.Status {
	case "Success":
		return nil
	case "Failure":
		if st.Reason == "NonZeroExitCode" {
			if st.Details == nil {
				return errors.New("error stream protocol error: details must be set")
			}
			for _, c := range st.Details.Causes {
				if c.Type != "ExitCode" {
					continue
				}
				rc, err := strconv.ParseUint(c.Message, 10, 8)
				if err != nil {
					return fmt.Errorf("error stream protocol error: invalid exit code value %q", c.Message)
				}
				return codeExitError{code: int(rc)}
			}
			return errors.New("error stream protocol error: no ExitCode cause given")
		}
	default:
		return errors.New("error stream protocol error: unknown error")
	}
	return errors.New(st.Message)
}
