package sink

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"
)

// ParseUsers reads "user:password" lines (the password is everything after
// the first colon); empty lines and lines starting with # are skipped.
func ParseUsers(r io.Reader) (map[string]string, error) {
	users := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, pass, ok := strings.Cut(line, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("line %d: want user:password", n)
		}
		users[user] = pass
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("no user:password lines")
	}
	return users, nil
}

// auth answers AUTH (RFC 4954) with PLAIN (RFC 4616), LOGIN or CRAM-MD5
// (RFC 2195); false ends the session.
func (c *conn) auth(line []byte) bool {
	cfg := &c.s.cfg
	switch {
	case cfg.Users == nil:
		c.bw.WriteString("502 5.5.1 sink: AUTH not offered\r\n")
		return true
	case cfg.RequireTLS && !c.tls:
		c.bw.WriteString("538 5.7.11 sink: encryption required for requested authentication mechanism\r\n")
		return true
	case c.authed:
		c.bw.WriteString("503 5.5.1 sink: already authenticated\r\n")
		return true
	case c.mail:
		c.bw.WriteString("503 5.5.1 sink: AUTH not allowed during a mail transaction\r\n")
		return true
	}
	args := strings.Fields(string(line[len("AUTH"):]))
	if len(args) == 0 || len(args) > 2 {
		c.bw.WriteString("501 5.5.4 sink: AUTH mechanism [initial-response]\r\n")
		return true
	}
	mech := strings.ToUpper(args[0])
	ir, hasIR := "", len(args) == 2
	if hasIR {
		ir = args[1]
	}
	var ok bool
	var err error
	switch mech {
	case "PLAIN":
		ok, err = c.authPlain(ir, hasIR)
	case "LOGIN":
		ok, err = c.authLogin(ir, hasIR)
	case "CRAM-MD5":
		ok, err = c.authCRAMMD5()
	default:
		c.bw.WriteString("504 5.5.4 sink: unrecognized authentication mechanism\r\n")
		return true
	}
	switch {
	case err == errAuthEnded:
		return false
	case err != nil:
		c.bw.WriteString(err.Error())
	case ok:
		c.authed = true
		c.bw.WriteString("235 2.7.0 sink: authentication successful\r\n")
	default:
		c.bw.WriteString("535 5.7.8 sink: authentication credentials invalid\r\n")
	}
	return true
}

// authError is a reply line that ends an AUTH exchange without a verdict.
type authError string

func (e authError) Error() string { return string(e) }

const (
	errAuthEnded     = authError("") // the connection failed mid-exchange
	errAuthCancelled = authError("501 5.7.0 sink: authentication cancelled\r\n")
	errAuthBase64    = authError("501 5.5.2 sink: cannot decode the response\r\n")
)

// challenge sends "334 text" and returns the client's decoded answer.
func (c *conn) challenge(text string) ([]byte, error) {
	c.bw.WriteString("334 " + text + "\r\n")
	if c.flush() != nil {
		return nil, errAuthEnded
	}
	line, err := c.readLine()
	if err != nil {
		return nil, errAuthEnded
	}
	return decodeResponse(string(line))
}

func decodeResponse(s string) ([]byte, error) {
	if s == "*" {
		return nil, errAuthCancelled
	}
	if s == "=" {
		return nil, nil // RFC 4954 4: an empty initial response
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errAuthBase64
	}
	return b, nil
}

func (c *conn) authPlain(ir string, hasIR bool) (bool, error) {
	var resp []byte
	var err error
	if hasIR {
		resp, err = decodeResponse(ir)
	} else {
		resp, err = c.challenge("")
	}
	if err != nil {
		return false, err
	}
	// RFC 4616 2: [authzid] NUL authcid NUL passwd.
	parts := bytes.Split(resp, []byte{0})
	if len(parts) != 3 {
		return false, nil
	}
	return c.check(string(parts[1]), parts[2]), nil
}

func (c *conn) authLogin(ir string, hasIR bool) (bool, error) {
	var user []byte
	var err error
	if hasIR {
		user, err = decodeResponse(ir)
	} else {
		user, err = c.challenge("VXNlcm5hbWU6") // "Username:"
	}
	if err != nil {
		return false, err
	}
	pass, err := c.challenge("UGFzc3dvcmQ6") // "Password:"
	if err != nil {
		return false, err
	}
	return c.check(string(user), pass), nil
}

func (c *conn) authCRAMMD5() (bool, error) {
	// RFC 2195 2: a unique challenge in the form of a message ID.
	ch := fmt.Sprintf("<%d.%d@%s>", rand.Uint32(), time.Now().UnixNano(), c.s.cfg.Hostname)
	resp, err := c.challenge(base64.StdEncoding.EncodeToString([]byte(ch)))
	if err != nil {
		return false, err
	}
	sp := bytes.LastIndexByte(resp, ' ')
	if sp < 0 {
		return false, nil
	}
	user, digest := string(resp[:sp]), resp[sp+1:]
	pass, known := c.s.cfg.Users[user]
	h := hmac.New(md5.New, []byte(pass))
	h.Write([]byte(ch))
	want := hex.AppendEncode(nil, h.Sum(nil))
	return subtle.ConstantTimeCompare(digest, want) == 1 && known, nil
}

// check compares in constant time, as a real server must.
func (c *conn) check(user string, pass []byte) bool {
	want, known := c.s.cfg.Users[user]
	return subtle.ConstantTimeCompare(pass, []byte(want)) == 1 && known
}
