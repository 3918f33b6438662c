package maa

import (
	"net/http"
	"testing"
	"time"
)

func TestRetryWait(t *testing.T) {
	c := &Client{}
	tests := []struct {
		attempt   int
		requested time.Duration
		want      time.Duration
	}{
		{0, 0, 250 * time.Millisecond},
		{1, 0, 500 * time.Millisecond},
		{3, 0, 2 * time.Second},
		{10, 0, DefaultMaxRetryWait},
		{0, 3 * time.Second, 3 * time.Second},
		{0, time.Hour, DefaultMaxRetryWait},
	}
	for _, tc := range tests {
		if got := c.retryWait(tc.attempt, tc.requested); got != tc.want {
			t.Errorf("retryWait(%d, %s) = %s, want %s", tc.attempt, tc.requested, got, tc.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{"-3", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tc := range tests {
		if got := retryAfter(tc.value, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tc.value, got, tc.want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"error":{"code":"InvalidParameter","message":"quote is invalid"}}`, "InvalidParameter: quote is invalid"},
		{"plain\x00text", "plain text"},
		{"", "(no message)"},
	}
	for _, tc := range tests {
		if got := errorMessage([]byte(tc.body)); got != tc.want {
			t.Errorf("errorMessage(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
}
