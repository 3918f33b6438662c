package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// metrics holds the API's counters, served in the Prometheus text format.
type metrics struct {
	mu       sync.Mutex
	counters map[string]map[string]uint64 // metric name, then rendered labels
}

var metricHelp = map[string]string{
	"rassh_http_requests_total":       "HTTP requests by method, route and status.",
	"rassh_enrollments_total":         "Enrollment attempts by outcome and error code.",
	"rassh_challenges_issued_total":   "Enrollment challenges issued.",
	"rassh_certificates_issued_total": "Host certificates issued.",
	"rassh_rate_limited_total":        "Requests rejected with 429 by limit.",
}

// add increments a counter; labels are name, value pairs.
func (m *metrics) add(name string, n uint64, labels ...string) {
	var b strings.Builder
	for i := 0; i+1 < len(labels); i += 2 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", labels[i], labels[i+1])
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.counters == nil {
		m.counters = map[string]map[string]uint64{}
	}
	if m.counters[name] == nil {
		m.counters[name] = map[string]uint64{}
	}
	m.counters[name][b.String()] += n
}

func (m *metrics) countRequest(method, route, status string) {
	m.add("rassh_http_requests_total", 1, "method", methodLabel(method), "route", route, "status", status)
}

// methodLabel returns method when it is a standard HTTP method and "other"
// otherwise, because clients may send any token as a method and every label
// value is a series kept for as long as the server runs.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return "other"
}

func (m *metrics) serve(w http.ResponseWriter, _ *http.Request) {
	m.mu.Lock()
	var b strings.Builder
	names := make([]string, 0, len(metricHelp))
	for name := range metricHelp {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n", name, metricHelp[name], name)
		series := m.counters[name]
		keys := make([]string, 0, len(series))
		for k := range series {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if k == "" {
				fmt.Fprintf(&b, "%s %d\n", name, series[k])
			} else {
				fmt.Fprintf(&b, "%s{%s} %d\n", name, k, series[k])
			}
		}
	}
	m.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write([]byte(b.String()))
}
