package handlers

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// A pre-filter reads the two or three fields that decide whether an event
// can trigger anything, without decoding the whole event: most deliveries
// (comments without a command) trigger nothing, and decoding a 10-30 KB
// payload into go-github's structs costs far more than the rest of their
// handling. Its answer must be the one the full decode would give, so it
// reads fields exactly as encoding/json does, and gives up (the caller then
// decodes the event) wherever the two could differ: a key given twice or in
// another case (encoding/json matches keys case-insensitively and keeps the
// last), a value of an unexpected type, a payload fastjson cannot parse.

// payloadReader reads fields from payloads. The zero value is ready; it is
// safe for concurrent use.
type payloadReader struct {
	parsers fastjson.ParserPool
}

// read parses payload and calls fn with its root, unless it does not parse.
// The values live until fn returns.
func (r *payloadReader) read(payload []byte, fn func(root *fastjson.Value)) {
	p := r.parsers.Get()
	defer r.parsers.Put(p)
	if root, err := p.ParseBytes(payload); err == nil {
		fn(root)
	}
}

// member returns the value of key in the object v as encoding/json reads it
// into a field tagged key: nil when the key is absent or v is null. ok is
// false when v is another type, or when encoding/json might read another
// member: key given twice, or a key that matches it ignoring case (or '_' and
// '-', or non-ASCII letters that fold to ASCII ones).
func member(v *fastjson.Value, key string) (m *fastjson.Value, ok bool) {
	if v == nil || v.Type() == fastjson.TypeNull {
		return nil, true
	}
	o, err := v.Object()
	if err != nil {
		return nil, false
	}
	ok = true
	o.Visit(func(k []byte, val *fastjson.Value) {
		switch {
		case string(k) == key:
			if m != nil {
				ok = false
			}
			m = val
		case mayMatch(k, key):
			ok = false
		}
	})
	return m, ok
}

// mayMatch reports whether a JSON decoder that matches names loosely could
// take k for key (an ASCII name).
func mayMatch(k []byte, key string) bool {
	i := 0
	for _, c := range k {
		switch {
		case c >= utf8.RuneSelf:
			return true // Unicode folding: 'ſ' is 's', 'K' (Kelvin) is 'k'
		case c == '_' || c == '-':
			continue
		}
		for i < len(key) && (key[i] == '_' || key[i] == '-') {
			i++
		}
		if i == len(key) || lower(c) != lower(key[i]) {
			return false
		}
		i++
	}
	for i < len(key) && (key[i] == '_' || key[i] == '-') {
		i++
	}
	return i == len(key)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// text returns the string v holds as encoding/json decodes it: the literal
// as sent (fastjson keeps it raw until asked for its type) decoded by
// encoding/json itself, so escapes, invalid UTF-8 and lone surrogates come
// out the same. Absent or null is "". ok is false for any other type.
func text(v *fastjson.Value) (s string, ok bool) {
	if v == nil {
		return "", true
	}
	raw := v.MarshalTo(nil)
	switch raw[0] {
	case 'n':
		return "", true
	case '"':
		return s, json.Unmarshal(raw, &s) == nil
	}
	return "", false
}

// textAt returns the string at keys below v, as text does; a missing or null
// step on the way is "". ok is false as soon as a step is in doubt (see
// member) or the value is not a string.
func textAt(v *fastjson.Value, keys ...string) (s string, ok bool) {
	for _, k := range keys {
		if v, ok = member(v, k); !ok {
			return "", false
		}
		if v == nil {
			return "", true
		}
	}
	return text(v)
}
