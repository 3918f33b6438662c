package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rassh/rassh/api/wire"
)

func TestChallengeLimitPerSource(t *testing.T) {
	h := newHarness(t)
	for i := range DefaultChallengeBurstPerSource {
		if status, body := h.do("POST", "/v1/challenges", nil, ""); status != http.StatusCreated {
			t.Fatalf("challenge %d of the burst: %d %s", i, status, body)
		}
	}

	req, _ := http.NewRequest("POST", h.srv.URL+"/v1/challenges", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e wire.Error
	json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("challenge beyond the burst: status %d, want 429", resp.StatusCode)
	}
	if got := resp.Header.Get("Retry-After"); got != "5" {
		t.Errorf("Retry-After = %q, want 5", got)
	}
	if e.Code != "rate_limited" || e.Error != "too many challenges from this address: retry after 5 seconds" {
		t.Errorf("error body %+v", e)
	}

	// Another source is not limited by the first one.
	rec := httptest.NewRecorder()
	other := httptest.NewRequest("POST", "/v1/challenges", nil)
	other.RemoteAddr = "192.0.2.9:40000"
	h.api.Handler().ServeHTTP(rec, other)
	if rec.Code != http.StatusCreated {
		t.Errorf("challenge from another source: %d %s", rec.Code, rec.Body)
	}

	// The first source gets one challenge per 5 seconds again.
	h.advance(5 * time.Second)
	if status, body := h.do("POST", "/v1/challenges", nil, ""); status != http.StatusCreated {
		t.Errorf("challenge after 5 seconds: %d %s", status, body)
	}

	_, metrics := h.do("GET", "/metrics", nil, "")
	if want := `rassh_rate_limited_total{limit="challenges"} 1`; !strings.Contains(string(metrics), want) {
		t.Errorf("metrics lack %q:\n%s", want, metrics)
	}
}

func TestChallengeLimitConfigured(t *testing.T) {
	h := newHarness(t)
	h.api.ChallengeRatePerSource, h.api.ChallengeBurstPerSource = 1, 2
	h.api.limits = nil
	for i := range 2 {
		if status, body := h.do("POST", "/v1/challenges", nil, ""); status != http.StatusCreated {
			t.Fatalf("challenge %d: %d %s", i, status, body)
		}
	}
	status, body := h.do("POST", "/v1/challenges", nil, "")
	if status != http.StatusTooManyRequests || !strings.Contains(string(body), "retry after 1 second") {
		t.Fatalf("third challenge: %d %s", status, body)
	}
}
