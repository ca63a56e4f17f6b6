package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// liveInput handles SIGINT and SIGTERM while pcapx reads live input (the
// standard input: `tcpdump -w - | pcapx analyze -`). The first signal ends
// the input, not the run: pcapx analyses and reports what it read, then
// exits 130 (143 for SIGTERM). A second signal aborts at once, running
// abort first (it removes unfinished tables).
type liveInput struct {
	mu    sync.Mutex
	sig   os.Signal
	abort func()
	c     chan os.Signal
	done  chan struct{}
}

func watchLiveInput(stop chan<- struct{}, stderr io.Writer) *liveInput {
	l := &liveInput{c: make(chan os.Signal, 2), done: make(chan struct{})}
	signal.Notify(l.c, os.Interrupt, syscall.SIGTERM)
	go func() {
		for {
			select {
			case sig := <-l.c:
				l.mu.Lock()
				first := l.sig == nil
				if first {
					l.sig = sig
				}
				abort := l.abort
				l.mu.Unlock()
				if first {
					fmt.Fprintf(stderr, "pcapx: %v: input ended; analysing what was read (again to abort)\n", sig)
					close(stop)
					continue
				}
				if abort != nil {
					abort()
				}
				os.Exit(signalCode(sig))
			case <-l.done:
				return
			}
		}
	}()
	return l
}

// onAbort sets what a second signal runs before the process ends.
func (l *liveInput) onAbort(f func()) {
	l.mu.Lock()
	l.abort = f
	l.mu.Unlock()
}

// signal is the first signal received, nil when none.
func (l *liveInput) signal() os.Signal {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sig
}

// release stops watching: signals end the process the usual way again.
func (l *liveInput) release() {
	signal.Stop(l.c)
	select {
	case <-l.done:
	default:
		close(l.done)
	}
}

// signalCode is the exit status a shell reports for a process a signal
// ended: 128 + its number.
func signalCode(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 128 + 2
}
