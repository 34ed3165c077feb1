package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// failingAuth fails every authentication like a database that is down,
// and remembers the request ID it saw in its context.
type failingAuth struct {
	mu   sync.Mutex
	seen string
}

func (a *failingAuth) Authenticate(ctx context.Context, secret string) (*scimflow.Token, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen = RequestID(ctx)
	return nil, errors.New("connection refused")
}

// logLines parses the JSON log lines in b.
func logLines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for l := range strings.SplitSeq(strings.TrimSpace(b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

// TestRequestID: every request gets an ID — the client's when it is a
// sane token, a generated one otherwise — in X-Request-Id, in the
// request's context, in its INFO access line and in the error line of a
// 5xx; neither the Authorization header nor the body is logged.
func TestRequestID(t *testing.T) {
	tests := []struct {
		name, incoming string
		keep           bool
	}{
		{"none", "", false},
		{"sane", "req-42.abc_DEF:7", true},
		{"space", "two words", false},
		{"not ascii", "réq", false},
		{"control", "a\x01b", false},
		{"too long", strings.Repeat("x", maxRequestIDLen+1), false},
		{"longest", strings.Repeat("y", maxRequestIDLen), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			auth := &failingAuth{}
			s := &Server{Auth: auth, Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))}
			req := httptest.NewRequest("POST", "/scim/v2/Users", strings.NewReader(`{"userName":"secret-body@example.com"}`))
			req.Header.Set("Authorization", "Bearer sfw_secret_token")
			if tt.incoming != "" {
				req.Header.Set("X-Request-Id", tt.incoming)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)

			id := rec.Header().Get("X-Request-Id")
			if rec.Code != 500 || id == "" || !saneRequestID(id) {
				t.Fatalf("answer %d with X-Request-Id %q, want 500 with a sane ID", rec.Code, id)
			}
			if kept := id == tt.incoming; kept != tt.keep {
				t.Errorf("X-Request-Id %q for incoming %q: kept %v, want %v", id, tt.incoming, kept, tt.keep)
			}
			if auth.seen != id {
				t.Errorf("RequestID(ctx) in the handler = %q, want %q", auth.seen, id)
			}
			if strings.Contains(logs.String(), "sfw_secret_token") || strings.Contains(logs.String(), "secret-body") {
				t.Errorf("the log holds the token or the body:\n%s", logs.String())
			}
			var access, failed map[string]any
			for _, l := range logLines(t, &logs) {
				switch l["msg"] {
				case "http":
					access = l
				case "request failed":
					failed = l
				}
			}
			if access == nil || access["level"] != "INFO" || access["request_id"] != id || access["method"] != "POST" ||
				access["route"] != "/scim/v2/Users" || access["status"] != float64(500) || access["duration"] == nil {
				t.Errorf("access line %v, want INFO with method, route, status, duration and request_id %q", access, id)
			}
			if failed == nil || failed["level"] != "ERROR" || failed["request_id"] != id || !strings.Contains(failed["error"].(string), "connection refused") {
				t.Errorf("error line %v, want ERROR with the error and request_id %q", failed, id)
			}
		})
	}
}
