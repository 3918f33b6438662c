package maa

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzResponse parses arbitrary MAA response bodies as a token answer and as
// an error body. Neither may panic, and error messages stay bounded.
func FuzzResponse(f *testing.F) {
	f.Add([]byte(`{"token":"eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}`))
	f.Add([]byte(`{"error":{"code":"InvalidParameter","message":"quote is invalid"}}`))
	f.Add([]byte("\xff\xfe"))

	f.Fuzz(func(t *testing.T, body []byte) {
		parseToken("https://maa.test", body)
		message := errorMessage(body)
		if len(message) > 303 {
			t.Fatalf("message of %d bytes", len(message))
		}
	})
}

func TestErrorMessageCutsAtRuneBoundary(t *testing.T) {
	message := errorMessage([]byte(`{"error":{"code":"X","message":"` + strings.Repeat("é", 200) + `"}}`))
	if !utf8.ValidString(message) {
		t.Fatalf("message %q is not valid UTF-8", message)
	}
}
