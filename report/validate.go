package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MaxDocumentBytes bounds a saved document that report, merge and compare
// read (from a file or standard input). A run's file is tens of KB plus
// about 400 bytes per second of its timeline (some 1.5 MB for an hour); a
// sweep of the most steps, or ab at hundreds of rounds, stays under this.
// Anything larger, or endless such as /dev/zero, is refused rather than
// read until memory runs out.
const MaxDocumentBytes = 128 << 20

// signedFields may be negative: changes and their intervals in a
// comparison, and offsets in time. Every other number in a document is a
// count, a duration, a rate, a size or a percentage of such, so a negative
// one means the file was altered or corrupted.
var signedFields = map[string]bool{
	"change_pct": true, "gain_pct": true, "p99_growth_pct": true,
	"lo": true, "hi": true, "median": true, "value": true, "offset_s": true, "t": true,
}

// freeFields hold values the document only echoes (the run's settings,
// and in a merged result the settings its runs differed in): they are not
// checked.
var freeFields = map[string]bool{"config": true, "values": true}

// checkNumbers walks a decoded document and refuses negative counts and
// durations, naming where the first one is.
func checkNumbers(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	return walkNumbers(v, "", "")
}

func walkNumbers(v any, path, key string) error {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys) // the first error is the same every time
		for _, k := range keys {
			if freeFields[k] {
				continue
			}
			p := k
			if path != "" {
				p = path + "." + k
			}
			if err := walkNumbers(t[k], p, k); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range t {
			if err := walkNumbers(e, fmt.Sprintf("%s[%d]", path, i), key); err != nil {
				return err
			}
		}
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil || math.IsInf(f, 0) {
			return fmt.Errorf("%s: %s is too large", path, t)
		}
		if f < 0 && !signedFields[key] {
			return fmt.Errorf("%s: %s, but a count or duration cannot be negative", path, t)
		}
	}
	return nil
}

// check refuses a run whose figures contradict each other, or whose
// histograms cannot be decoded: what report, merge and compare would
// otherwise render or merge as if it were a measurement.
func (j *JSONReport) check() error {
	t := j.Totals
	if t.MessagesAttempted != t.MessagesOK+t.MessagesRejected+t.MessagesFailed {
		return fmt.Errorf("totals: messages_attempted %d is not messages_ok + messages_rejected + messages_failed (%d + %d + %d)",
			t.MessagesAttempted, t.MessagesOK, t.MessagesRejected, t.MessagesFailed)
	}
	for _, name := range PhaseNames(j) {
		if _, err := j.Phases[name].Histogram(); err != nil {
			return fmt.Errorf("phases.%s.hdr: %v", name, err)
		}
	}
	return nil
}

// jsonErr turns encoding/json's errors into a line a user can act on:
// where in the document, what was there and what was wanted, without Go's
// type names.
func jsonErr(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var pe *time.ParseError
	switch {
	case errors.As(err, &pe):
		return fmt.Errorf("started_at: %q, want an RFC 3339 time such as 2026-11-25T20:30:00Z", pe.Value)
	case errors.As(err, &se):
		return fmt.Errorf("%s (at byte %d)", strings.TrimPrefix(se.Error(), "json: "), se.Offset)
	case errors.As(err, &te):
		where := te.Field
		if where == "" {
			where = "the document"
		}
		what := te.Value
		if strings.HasPrefix(what, "number") {
			what = "the number" + strings.TrimPrefix(what, "number")
		} else {
			what = "a JSON " + what
		}
		return fmt.Errorf("%s: %s, want %s (at byte %d)", where, what, wantOf(te.Type), te.Offset)
	}
	return errors.New(strings.TrimPrefix(err.Error(), "json: "))
}

// wantOf says in JSON's words what a Go type accepts.
func wantOf(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("a whole number up to %d", int64(uint64(1)<<(t.Bits()-1)-1))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("a whole number from 0 to %d", uint64(math.MaxUint64)>>(64-t.Bits()))
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return wantOf(t.Elem())
	}
	return "another value"
}
