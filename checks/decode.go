package checks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf16"
)

// DecodePlan decodes the output of `terraform show -json PLANFILE` once, into
// JSON values: objects as map[string]any, arrays as []any, numbers as
// json.Number (64-bit ids and big numbers stay exact), strings, booleans and
// nil. The same value serves the renderer (NewPlan) and the policy engine, so
// a plan is decoded once however many consumers it has. Input in UTF-16 (with
// a byte order mark, as PowerShell's `>` writes it) or with a UTF-8 byte order
// mark is decoded first. Malformed or truncated JSON is an error that says
// where it breaks; so is the output of hashicorp/setup-terraform's wrapper.
func DecodePlan(data []byte) (map[string]any, error) {
	data, err := decodeText(data)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("parsing plan JSON: the input is empty")
	}
	if hint := wrapperOutput(data); hint != "" {
		return nil, errors.New("parsing plan JSON: " + hint)
	}
	var v any
	if err := decodeOne(data, &v); err != nil {
		return nil, fmt.Errorf("parsing plan JSON: %w", err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("parsing plan JSON: the document is %s, not an object", jsonKind(v))
	}
	return doc, nil
}

// decodeOne decodes the one JSON document data holds into v, numbers as
// json.Number, with errors that say where the document breaks.
func decodeOne(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return describeJSONError(data, err, dec.InputOffset())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		// The column of the first character after the document.
		return describeJSONError(data, errors.New("unexpected data after the end of the plan document"), dec.InputOffset()+1)
	}
	return nil
}

// wrapperOutput recognises what hashicorp/setup-terraform's wrapper (on by
// default) makes of `terraform show -json`: its "[command]…terraform-bin
// show -json" line before the JSON and "::debug::" lines after it. It returns
// what to do about it, or "" for other input.
func wrapperOutput(data []byte) string {
	head := bytes.TrimLeft(data[:min(len(data), 4096)], " \t\r\n")
	switch {
	case bytes.HasPrefix(head, []byte("[command]")),
		bytes.Contains(head, []byte("terraform-bin ")),
		bytes.HasPrefix(head, []byte("::debug::")):
	default:
		return ""
	}
	return "this is the output of hashicorp/setup-terraform's wrapper script (it prints a \"[command]…\" line " +
		"and \"::debug::\" lines around terraform's own output), not plain `terraform show -json`: " +
		"set `terraform_wrapper: false` on the setup-terraform step"
}

// decodeText returns data as UTF-8 without a byte order mark.
func decodeText(data []byte) ([]byte, error) {
	var bigEndian bool
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		return data[3:], nil
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		data = data[2:]
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		data, bigEndian = data[2:], true
	case len(data) >= 2 && data[0] != 0 && data[1] == 0: // UTF-16LE without a mark: JSON starts with ASCII
	case len(data) >= 2 && data[0] == 0 && data[1] != 0:
		bigEndian = true
	default:
		return data, nil
	}
	if len(data)%2 != 0 {
		return nil, errors.New("parsing plan JSON: the input looks like UTF-16 but has an odd number of bytes")
	}
	units := make([]uint16, len(data)/2)
	for i := range units {
		if bigEndian {
			units[i] = uint16(data[2*i])<<8 | uint16(data[2*i+1])
		} else {
			units[i] = uint16(data[2*i+1])<<8 | uint16(data[2*i])
		}
	}
	return []byte(string(utf16.Decode(units))), nil
}

// describeJSONError says where JSON broke, as a line and column. A
// json.Decoder reports a document that ends early as io.ErrUnexpectedEOF with
// the offset where the document started, so a truncated plan is reported at
// its end, as truncated; other syntax errors carry their own offset.
func describeJSONError(data []byte, err error, offset int64) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := position(data, len(data))
		return fmt.Errorf("the JSON ends early, after %d bytes (line %d, column %d): the plan output was truncated", len(data), line, col)
	case errors.As(err, &syn):
		offset = syn.Offset
	case errors.As(err, &typ):
		offset = typ.Offset
	}
	line, col := position(data, int(offset))
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

// position turns a byte offset into a 1-based line and column.
func position(data []byte, offset int) (line, col int) {
	off := min(max(offset, 0), len(data))
	line = 1 + bytes.Count(data[:off], []byte("\n"))
	col = off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// jsonKind names the JSON type of a decoded value, for errors.
func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
