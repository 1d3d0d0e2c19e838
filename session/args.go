package session

import (
	"fmt"
	"strings"
)

// MaxTextLine is the longest content line SMTP allows, CRLF excluded
// (RFC 5321 4.5.3.1.6: 1000 octets including CRLF).
const MaxTextLine = 998

// MaxAddressLen bounds an expanded address when a line's length must be
// checked before any message is built: RFC 5321 4.5.3.1.3 allows a path of
// 256 octets.
const MaxAddressLen = 256

// checkArg rejects CR and LF in anything we put on a command line: an address
// holding "\r\nRCPT TO:<x>" would inject commands (golang/go#21159).
func checkArg(what, s string) error {
	if strings.ContainsAny(s, "\r\n") {
		return fmt.Errorf("%s %q contains CR or LF", what, s)
	}
	return nil
}

// CheckAddress is the check every envelope address must pass before it is
// written between angle brackets on a MAIL or RCPT line. CR and LF would
// inject commands; '<', '>' and spaces would break the path syntax of
// RFC 5321 4.1.2 or add parameters. It lives with the client because it is
// what keeps the wire safe, whoever builds the address.
func CheckAddress(s string) error {
	if err := checkArg("address", s); err != nil {
		return err
	}
	if strings.ContainsAny(s, "<> \t") {
		return fmt.Errorf("address %q must not contain '<', '>' or spaces", s)
	}
	return nil
}
