package main

import (
	"encoding/json"
	"os"
	"sync"
)

// requestEntry is one exec request as the server saw it: what a gateway test checks about the upstream leg.
type requestEntry struct {
	Method  string   `json:"method"`
	Path    string   `json:"path"`
	Query   string   `json:"query"`
	Command []string `json:"command,omitempty"`
	Offered []string `json:"offered"`
	Chosen  string   `json:"chosen"`
	Status  int      `json:"status"`
	Error   string   `json:"error,omitempty"`
	Result  string   `json:"result,omitempty"`
}

type requestLog struct {
	mu sync.Mutex
	f  *os.File
}

func openRequestLog(path string) (*requestLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &requestLog{f: f}, nil
}

func (l *requestLog) write(e requestEntry) {
	if l == nil {
		return
	}
	line, err := json.Marshal(e)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.f.Write(append(line, '\n'))
}
