package oauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// MaxBodyBytes bounds a token, introspection or revocation request body.
const MaxBodyBytes = 64 << 10

// maxParamLen bounds any one parameter; longer ones are refused by name.
const maxParamLen = 4096

// Params are the parameters of a request body, one value each.
type Params map[string]string

// Get returns the value of name, or "".
func (p Params) Get(name string) string { return p[name] }

// ReadParams decodes a POST body that is application/x-www-form-urlencoded
// or application/json. JSON values may be strings, numbers or booleans
// (numbers keep their literal text); a parameter given twice, a nested
// value, an oversized body or a parameter longer than 4096 bytes is an
// invalid_request naming the problem.
func ReadParams(w http.ResponseWriter, r *http.Request) (Params, *Error) {
	if r.Method != http.MethodPost {
		return nil, InvalidRequest("use POST")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			e := InvalidRequest("the request body is larger than %d bytes", MaxBodyBytes)
			e.Status = http.StatusRequestEntityTooLarge
			return nil, e
		}
		return nil, InvalidRequest("the request body could not be read")
	}
	ct := r.Header.Get("Content-Type")
	if ct != "application/x-www-form-urlencoded" && ct != "application/json" {
		ct, _, _ = mime.ParseMediaType(ct) // parameters, case, spaces
	}
	switch ct {
	case "application/json":
		return DecodeJSON(body)
	case "application/x-www-form-urlencoded":
		return DecodeForm(body)
	case "", "text/plain":
		// Many HTTP clients post a JSON body without a Content-Type, or as
		// text/plain; a form never starts with "{".
		if startsObject(body) {
			return DecodeJSON(body)
		}
		if ct == "" {
			return DecodeForm(body)
		}
		return nil, InvalidRequest("Content-Type %q is not supported for a body that is not a JSON object: send application/x-www-form-urlencoded or application/json", ct)
	default:
		return nil, InvalidRequest("Content-Type %q is not supported: send application/x-www-form-urlencoded or application/json", ct)
	}
}

// startsObject reports whether body's first non-space byte opens a JSON object.
func startsObject(body []byte) bool {
	for _, b := range body {
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return b == '{'
	}
	return false
}

// DecodeForm decodes an application/x-www-form-urlencoded body. It reads
// the pairs straight into Params (url.ParseQuery would build a map of
// slices first) and, like url.ParseQuery, refuses semicolons as separators
// and bad escapes.
func DecodeForm(body []byte) (Params, *Error) {
	s := string(body)
	p := make(Params, min(strings.Count(s, "&")+1, 16))
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if strings.Contains(pair, ";") {
			return nil, InvalidRequest("the form body is malformed: parameters are separated by &, not ;")
		}
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, errK := url.QueryUnescape(k)
		v, errV := url.QueryUnescape(v)
		if errK != nil || errV != nil {
			return nil, InvalidRequest("the form body is malformed")
		}
		if _, dup := p[k]; dup {
			return nil, InvalidRequest("parameter %q is given more than once", clip(k)).For(clip(k))
		}
		p[k] = v
	}
	return p, p.check()
}

// DecodeJSON decodes a JSON object body of scalar values.
func DecodeJSON(body []byte) (Params, *Error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, InvalidRequest("the JSON body is malformed: it must be one object")
	}
	if dec.More() {
		return nil, InvalidRequest("the JSON body has data after its object")
	}
	p := make(Params, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case nil:
			continue // an explicit null is the same as leaving it out
		case string:
			p[k] = v
		case json.Number:
			p[k] = v.String()
		case bool:
			p[k] = fmt.Sprint(v)
		default:
			return nil, InvalidRequest("parameter %q must be a string", clip(k)).For(clip(k))
		}
	}
	// encoding/json keeps the last of duplicate keys; refuse them as the form decoder does.
	if dup := duplicateKey(body); dup != "" {
		return nil, InvalidRequest("parameter %q is given more than once", clip(dup)).For(clip(dup))
	}
	return p, p.check()
}

// duplicateKey returns a top-level key that appears twice in a JSON object, or "".
func duplicateKey(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // {
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return ""
		}
		k, _ := t.(string)
		if seen[k] {
			return k
		}
		seen[k] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return ""
		}
	}
	return ""
}

func (p Params) check() *Error {
	for k, v := range p {
		if len(v) > maxParamLen {
			return InvalidRequest("parameter %q is longer than %d bytes", clip(k), maxParamLen).For(clip(k))
		}
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return InvalidRequest("parameter %q is not valid text", clip(k)).For(clip(k))
		}
	}
	return nil
}

// clip keeps attacker-chosen names short in error messages.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
