package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/rassh/rassh/api/wire"
)

// Public error codes of the API outside enrollment (which uses ca's codes).
const (
	codeBodyTooLarge  = "body_too_large"
	codeInvalidJSON   = "invalid_json"
	codeInvalidInput  = "invalid_request"
	codeUnauthorized  = "unauthorized"
	codeNotFound      = "not_found"
	codeUnavailable   = "unavailable"
	codeInternalError = "internal_error"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// fail writes a JSON error with a public message and records the internal
// cause, if any, in the request's log line.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, code, msg string, cause error) {
	attrs := requestAttrs(r)
	attrs.add("code", code)
	if cause != nil {
		attrs.add("error", cause.Error())
	}
	writeJSON(w, status, wire.Error{Error: msg, Code: code})
}

// decodeError is a request body that could not be decoded.
type decodeError struct {
	status int
	code   string
	msg    string
	err    error
}

func (e *decodeError) Error() string { return e.err.Error() }

// decode reads a JSON body of at most the server's size limit into v,
// rejecting unknown fields and trailing data.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) *decodeError {
	limit := s.maxBodyBytes()
	body := http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, trailing := dec.Token(); trailing != io.EOF {
			err = errors.New("trailing data after the JSON object")
		}
	}
	if err == nil {
		return nil
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		msg := fmt.Sprintf("request body larger than %d bytes", limit)
		return &decodeError{http.StatusRequestEntityTooLarge, codeBodyTooLarge, msg, err}
	}
	return &decodeError{http.StatusBadRequest, codeInvalidJSON, "invalid JSON body: " + publicJSONError(err), err}
}

// publicJSONError keeps the parts of a decoding error that describe the
// client's own input: field names and offsets, never values.
func publicJSONError(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("syntax error at offset %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type", typ.Field)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	case errors.Is(err, io.EOF):
		return "empty body"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated body"
	}
	return "malformed"
}
