package maa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rassh/rassh/verifier"
)

// maxResponseSize bounds MAA's response. TdxVm tokens are a few KiB.
const maxResponseSize = 256 << 10

// post sends body with bounded retries and returns the token.
func (c *Client) post(ctx context.Context, body []byte) (string, error) {
	retries := c.MaxRetries
	switch {
	case retries == 0:
		retries = DefaultMaxRetries
	case retries < 0:
		retries = 0
	}

	for attempt := 0; ; attempt++ {
		raw, wait, err := c.postOnce(ctx, body)
		if err == nil || wait < 0 {
			return raw, err
		}
		if attempt == retries {
			return "", &verifier.UndecidedError{Op: "maa attest", Err: fmt.Errorf("%s: giving up after %d attempts: %w", c.InstanceURL, attempt+1, err)}
		}
		if sleepErr := sleep(ctx, c.retryWait(attempt, wait)); sleepErr != nil {
			return "", &verifier.UndecidedError{Op: "maa attest", Err: fmt.Errorf("%s: %w (last error: %v)", c.InstanceURL, sleepErr, err)}
		}
	}
}

// postOnce makes one request. A retryable failure comes with wait >= 0 (the
// Retry-After MAA sent, or zero); any other result has wait -1.
func (c *Client) postOnce(ctx context.Context, body []byte) (string, time.Duration, error) {
	req, err := c.newRequest(ctx, body)
	if err != nil {
		return "", -1, err
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", -1, &verifier.UndecidedError{Op: "maa attest", Err: fmt.Errorf("%s: %w", c.InstanceURL, err)}
		}
		return "", 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseSize+1))
	if err != nil {
		return "", 0, fmt.Errorf("read response: %w", err)
	}
	if len(data) > maxResponseSize {
		return "", -1, &verifier.UndecidedError{Op: "maa attest", Err: fmt.Errorf("%s: response larger than %d bytes", c.InstanceURL, maxResponseSize)}
	}

	switch {
	case resp.StatusCode == http.StatusOK:
		return parseToken(c.InstanceURL, data)
	case resp.StatusCode == http.StatusBadRequest:
		return "", -1, verifier.Reject(CheckAttest, "%s rejected the evidence: %s", c.InstanceURL, errorMessage(data))
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return "", retryAfter(resp.Header.Get("Retry-After"), time.Now()), fmt.Errorf("HTTP status %d: %s", resp.StatusCode, errorMessage(data))
	}
	return "", -1, &verifier.UndecidedError{Op: "maa attest", Err: fmt.Errorf("%s: HTTP status %d: %s", c.InstanceURL, resp.StatusCode, errorMessage(data))}
}

func parseToken(instance string, data []byte) (string, time.Duration, error) {
	var answer struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(data, &answer); err != nil || answer.Token == "" {
		return "", -1, &verifier.UndecidedError{Op: "maa attest", Err: fmt.Errorf("%s: response contains no token", instance)}
	}
	return answer.Token, -1, nil
}

// retryWait is the wait before retry number attempt+1: what the server
// asked for, else exponential backoff, capped at MaxRetryWait.
func (c *Client) retryWait(attempt int, requested time.Duration) time.Duration {
	limit := c.MaxRetryWait
	if limit <= 0 {
		limit = DefaultMaxRetryWait
	}
	wait := requested
	if wait == 0 {
		base := c.backoff
		if base == 0 {
			base = 250 * time.Millisecond
		}
		wait = base << attempt
	}
	return min(wait, limit)
}

// retryAfter parses a Retry-After value, seconds or an HTTP date, as a
// duration from now; zero when absent or invalid.
func retryAfter(value string, now time.Time) time.Duration {
	if value == "" {
		return 0
	}
	if seconds, err := strconv.Atoi(value); err == nil && seconds > 0 {
		return time.Duration(seconds) * time.Second
	}
	if at, err := http.ParseTime(value); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}

func sleep(ctx context.Context, d time.Duration) error {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return errors.New("the context deadline comes before the next retry")
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// errorMessage returns MAA's error message from an Azure REST error body,
// or the start of the body, as printable text of bounded length.
func errorMessage(data []byte) string {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	text := string(data)
	if json.Unmarshal(data, &body) == nil && body.Error.Message != "" {
		text = body.Error.Code + ": " + body.Error.Message
	}
	text = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, text)
	const max = 300
	if len(text) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "..."
	}
	if text == "" {
		return "(no message)"
	}
	return text
}
