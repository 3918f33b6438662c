// Package yamlconfig decodes configuration and policy files written in YAML
// or JSON, rejecting unknown and repeated fields, and reports errors in the
// file's terms instead of the wording of the underlying libraries.
package yamlconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"sigs.k8s.io/yaml"
)

// Prefixes that sigs.k8s.io/yaml v1.6.0 and encoding/json put in front of
// their errors. They name the conversion steps, not the problem in the file.
const (
	prefixConvert   = "error converting YAML to JSON: "
	prefixUnmarshal = "error unmarshaling JSON: "
	prefixDecode    = "while decoding JSON: "
	prefixYAML      = "yaml: "
	prefixJSON      = "json: "
	prefixTypeError = "unmarshal errors:\n"
)

// Unmarshal decodes YAML or JSON data into v, which must be a pointer, through
// the JSON field tags of v. Unknown fields and keys repeated in one mapping
// are errors. Error messages name the field or line, for example
// `unknown field "x"` or `invalid YAML: line 2: key "mode" already set in map`.
// The returned error wraps the decoder's error.
func Unmarshal(data []byte, v any) error {
	err := yaml.UnmarshalStrict(data, v)
	if err == nil {
		return nil
	}
	return &decodeError{message: describe(err), err: err}
}

type decodeError struct {
	message string
	err     error
}

func (e *decodeError) Error() string { return e.message }
func (e *decodeError) Unwrap() error { return e.err }

func describe(err error) string {
	message := err.Error()
	if rest, ok := strings.CutPrefix(message, prefixConvert); ok {
		rest = strings.TrimPrefix(rest, prefixYAML)
		if lines, ok := strings.CutPrefix(rest, prefixTypeError); ok {
			rest = joinLines(lines)
		}
		return "invalid YAML: " + rest
	}

	message = strings.TrimPrefix(message, prefixUnmarshal)
	message = strings.TrimPrefix(message, prefixDecode)
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && message == typeErr.Error() {
		return describeTypeError(typeErr)
	}
	return strings.TrimPrefix(message, prefixJSON)
}

// joinLines joins the indented lines of a yaml.TypeError into one line.
func joinLines(text string) string {
	var lines []string
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "; ")
}

func describeTypeError(e *json.UnmarshalTypeError) string {
	found := map[string]string{
		"array":  "a list",
		"object": "a mapping",
		"bool":   "a boolean",
		"string": "a string",
		"number": "a number",
	}[e.Value]
	if found == "" {
		found = e.Value // for example "number 1.5" for an integer field
	}
	if e.Field == "" {
		return fmt.Sprintf("invalid document: expected %s, found %s", describeType(e.Type), found)
	}
	return fmt.Sprintf("invalid value for field %q: expected %s, found %s", e.Field, describeType(e.Type), found)
}

func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return t.String()
}
