package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
)

type attrsKey struct{}

// logAttrs collects attributes that handlers add to the request's log line.
type logAttrs struct {
	mu    sync.Mutex
	attrs []slog.Attr
	quiet bool // log at debug level
}

// setQuiet moves the request's log line to debug level, for responses that
// a client can cause in bulk, such as 429.
func (l *logAttrs) setQuiet() {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.quiet = true
	l.mu.Unlock()
}

func (l *logAttrs) add(key string, value any) {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.attrs = append(l.attrs, slog.Any(key, value))
	l.mu.Unlock()
}

func requestAttrs(r *http.Request) *logAttrs {
	l, _ := r.Context().Value(attrsKey{}).(*logAttrs)
	return l
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// logRequests writes one log line per request with method, path, route,
// status, duration and remote address, plus what the handler added (serials,
// principals, the error code and cause). Bodies and headers are never logged,
// so neither are tokens, quotes or keys.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		attrs := &logAttrs{}
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), attrsKey{}, attrs)))

		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		s.metrics.countRequest(r.Method, route, strconv.Itoa(rec.status))

		level := slog.LevelInfo
		if rec.status >= 500 {
			level = slog.LevelError
		}
		all := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("route", route),
			slog.Int("status", rec.status),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", r.RemoteAddr),
		}
		attrs.mu.Lock()
		all = append(all, attrs.attrs...)
		if attrs.quiet {
			level = slog.LevelDebug
		}
		attrs.mu.Unlock()
		s.logger().LogAttrs(r.Context(), level, "request", all...)
	})
}
