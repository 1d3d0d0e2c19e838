// Command mailhog-engine is a small SMTP sink for CI. Its SMTP side is
// MailHog's own protocol state machine (github.com/mailhog/smtp v1.0.1, with
// github.com/mailhog/data v1.0.1: the same revisions MailHog v1.0.1 vendors),
// configured and driven the way MailHog-Server v1.0.1's smtp/session.go
// drives it, so that smtpbench can be tested against MailHog's behaviour
// without the full MailHog program (which cannot be built here: one of its
// dependencies is not served by the Go module proxy).
//
// Usage:
//
//	mailhog-engine [-smtp 127.0.0.1:1025] [-http 127.0.0.1:8025] [-v]
//
// HTTP API (JSON unless noted):
//
//	GET  /count             {"count": N}
//	GET  /messages/{i}      {"from": "...", "to": ["..."], "size": N}   (i is 0-based)
//	GET  /messages/{i}/raw  the stored Data, Content-Type application/octet-stream
//	POST /reset             clears the store, replies {"count": 0}
//
// Errors are JSON {"error": "..."} with status 400 (index not a number) or
// 404 (no such message).
//
// See NOTES.md for the ways MailHog's engine departs from the RFCs.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/mailhog/data"
	"github.com/mailhog/smtp"
)

// hostname is what MailHog uses by default (its -hostname flag defaults to
// it, and smtp.NewProtocol sets it too). It appears in the 220 greeting
// ("220 mailhog.example ESMTP MailHog") and in the queued-as IDs.
const hostname = "mailhog.example"

// message is what the store keeps for each message the protocol accepted.
//
// Data is exactly data.SMTPMessage.Data as handed over by smtp.Protocol's
// MessageReceivedHandler (mailhog/smtp v1.0.1, Protocol.ProcessData):
//
//   - Each received line is appended with "\r\n" (lines are split on
//     "\r\n" only; a bare "\n" or "\r" stays inside the line as data).
//   - When the accumulated text ends in "\r\n.\r\n", every "\r\n.." is
//     replaced by "\r\n." (dot-unstuffing), and then the "\r\n.\r\n" suffix
//     is trimmed.
//
// So Data IS dot-unstuffed, except on the very first line of the content:
// a first line sent as "..x" is stored as "..x", because there is no "\r\n"
// in front of it. And Data does NOT keep the trailing CRLF: the CRLF that
// ends the last content line is removed together with the ".\r\n"
// terminator, so content "A\r\nB\r\n" is stored as "A\r\nB".
type message struct {
	From string   // reverse-path without <>, as parsed by MailHog
	To   []string // forward-paths without <>, in RCPT order
	Data string
}

// store is the in-memory message store; safe for concurrent use.
type store struct {
	mu   sync.Mutex
	msgs []message
}

func (s *store) add(m message) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	return len(s.msgs)
}

func (s *store) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

func (s *store) get(i int) (message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i < 0 || i >= len(s.msgs) {
		return message{}, false
	}
	return s.msgs[i], true
}

func (s *store) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = nil
}

// server owns both listeners and every open SMTP connection.
type server struct {
	store   *store
	verbose bool

	smtpLn  net.Listener
	httpLn  net.Listener
	httpSrv *http.Server

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// start listens on both addresses (either may use port 0) and starts
// serving in background goroutines. Call close to stop.
func start(smtpAddr, httpAddr string, verbose bool) (*server, error) {
	smtpLn, err := net.Listen("tcp", smtpAddr)
	if err != nil {
		return nil, fmt.Errorf("smtp listen: %w", err)
	}
	httpLn, err := net.Listen("tcp", httpAddr)
	if err != nil {
		smtpLn.Close()
		return nil, fmt.Errorf("http listen: %w", err)
	}
	s := &server{
		store:   &store{},
		verbose: verbose,
		smtpLn:  smtpLn,
		httpLn:  httpLn,
		conns:   make(map[net.Conn]struct{}),
	}
	s.httpSrv = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.acceptLoop()
	}()
	go func() {
		defer s.wg.Done()
		if err := s.httpSrv.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("mailhog-engine: http: %v", err)
		}
	}()
	return s, nil
}

func (s *server) smtpAddr() string { return s.smtpLn.Addr().String() }
func (s *server) httpAddr() string { return s.httpLn.Addr().String() }

// close stops accepting, closes every open connection and waits for all
// goroutines to finish. It is safe to call more than once.
func (s *server) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.smtpLn.Close()
	s.httpSrv.Close()
	s.wg.Wait()
}

func (s *server) acceptLoop() {
	var delay time.Duration
	for {
		conn, err := s.smtpLn.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Temporary failure (e.g. out of file descriptors): back off.
			if delay == 0 {
				delay = 5 * time.Millisecond
			} else if delay < time.Second {
				delay *= 2
			}
			log.Printf("mailhog-engine: accept: %v; retrying in %v", err, delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			return
		}
		s.conns[conn] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, conn)
				s.mu.Unlock()
				conn.Close()
			}()
			s.session(conn)
		}()
	}
}

var crlf = []byte("\r\n")

// session runs one SMTP conversation on conn with a fresh smtp.Protocol.
//
// Like MailHog-Server (which reads 1024 bytes at a time into a string
// buffer, not through a bufio.Reader) it accumulates whatever each Read
// returns and hands the protocol one "\r\n"-terminated line at a time through
// Protocol.Parse (which dispatches to ProcessData in DATA state and to
// ProcessCommand otherwise), writing each reply in order. All complete lines
// of a read are processed before the next Read, so any number of pipelined
// commands (and message content followed by the next commands) arriving in
// one TCP segment are handled in order; an incomplete line is kept for the
// next Read. Replies are buffered and flushed before blocking on the next
// Read, so a pipelined group gets its replies in one write (MailHog-Server
// issues one Write per reply line; the bytes and their order are the same,
// only the TCP segmentation differs). A 221 reply
// (QUIT) ends the session after it is flushed; any input after QUIT is
// discarded, as MailHog does.
func (s *server) session(conn net.Conn) {
	remote := conn.RemoteAddr().String()
	logf := func(format string, args ...any) {}
	if s.verbose {
		logf = func(format string, args ...any) {
			log.Printf("[SMTP "+remote+"] "+format, args...)
		}
	}

	proto := smtp.NewProtocol()
	proto.Hostname = hostname
	proto.LogHandler = logf
	proto.MessageReceivedHandler = func(m *data.SMTPMessage) (string, error) {
		id, err := data.NewMessageID(hostname)
		if err != nil {
			return "", err
		}
		// The protocol replaces its Message after this handler returns, but
		// copy the recipient slice anyway so the store owns its data.
		n := s.store.add(message{
			From: m.From,
			To:   append([]string(nil), m.To...),
			Data: m.Data,
		})
		logf("stored message #%d (%s), %d bytes", n-1, id, len(m.Data))
		return string(id), nil
	}
	// Accept everything (MailHog without its chaos monkey does the same).
	proto.ValidateSenderHandler = func(string) bool { return true }
	proto.ValidateRecipientHandler = func(string) bool { return true }
	proto.ValidateAuthenticationHandler = func(string, ...string) (*smtp.Reply, bool) { return nil, true }
	// MailHog-Server advertises AUTH PLAIN; the EHLO reply therefore is
	// "250-Hello <arg>\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n".
	proto.GetAuthenticationMechanismsHandler = func() []string { return []string{"PLAIN"} }

	w := bufio.NewWriter(conn)
	write := func(r *smtp.Reply) {
		for _, l := range r.Lines() {
			logf("sent %q", l)
			w.WriteString(l) // errors are sticky; checked at Flush
		}
	}

	write(proto.Start())
	if err := w.Flush(); err != nil {
		return
	}

	buf := make([]byte, 64*1024)
	var pending []byte
	for {
		n, rerr := conn.Read(buf)
		if n > 0 {
			logf("received %d bytes: %q", n, buf[:n])
			pending = append(pending, buf[:n]...)
			off := 0
			for {
				i := bytes.Index(pending[off:], crlf)
				if i < 0 {
					break
				}
				line := string(pending[off : off+i+2])
				off += i + 2
				// Parse consumes exactly one "\r\n"-terminated line, so
				// the remainder it returns is always empty here.
				_, reply := proto.Parse(line)
				if reply == nil {
					continue // a content line inside DATA
				}
				write(reply)
				if reply.Status == 221 {
					w.Flush()
					return
				}
			}
			pending = append(pending[:0], pending[off:]...)
			if err := w.Flush(); err != nil {
				return
			}
		}
		if rerr != nil {
			if s.verbose && !errors.Is(rerr, io.EOF) && !errors.Is(rerr, net.ErrClosed) {
				logf("read error: %v", rerr)
			}
			return
		}
	}
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /count", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]int{"count": s.store.count()})
	})
	mux.HandleFunc("GET /messages/{i}", func(w http.ResponseWriter, r *http.Request) {
		m, ok := s.lookup(w, r)
		if !ok {
			return
		}
		to := m.To
		if to == nil {
			to = []string{}
		}
		writeJSON(w, http.StatusOK, struct {
			From string   `json:"from"`
			To   []string `json:"to"`
			Size int      `json:"size"`
		}{m.From, to, len(m.Data)})
	})
	mux.HandleFunc("GET /messages/{i}/raw", func(w http.ResponseWriter, r *http.Request) {
		m, ok := s.lookup(w, r)
		if !ok {
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(m.Data)))
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, m.Data)
	})
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, r *http.Request) {
		s.store.reset()
		writeJSON(w, http.StatusOK, map[string]int{"count": 0})
	})
	return mux
}

func (s *server) lookup(w http.ResponseWriter, r *http.Request) (message, bool) {
	i, err := strconv.Atoi(r.PathValue("i"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "message index must be an integer"})
		return message{}, false
	}
	m, ok := s.store.get(i)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no message %d", i)})
		return message{}, false
	}
	return m, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func main() {
	smtpAddr := flag.String("smtp", "127.0.0.1:1025", "SMTP listen address")
	httpAddr := flag.String("http", "127.0.0.1:8025", "HTTP API listen address")
	verbose := flag.Bool("v", false, "log every SMTP line received and reply sent")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "mailhog-engine: unexpected arguments: %v\n", flag.Args())
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	s, err := start(*smtpAddr, *httpAddr, *verbose)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mailhog-engine: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "mailhog-engine: smtp on %s, http on %s\n", s.smtpAddr(), s.httpAddr())

	<-ctx.Done()
	stop()
	s.close()
	fmt.Fprintf(os.Stderr, "mailhog-engine: %d messages stored\n", s.store.count())
	os.Exit(0)
}
