package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scimflow/scimflow/api"
	"github.com/scimflow/scimflow/internal/metrics"
	"github.com/scimflow/scimflow/internal/scimflow"
	"github.com/scimflow/scimflow/internal/store"
)

// Env is a running API on a fresh database with one org (business plan,
// SCIM Groups on), an admin token and a SCIM token.
type Env struct {
	T          testing.TB
	URL        string // base URL of the server, no trailing slash
	DBURL      string // the database's URL, for other processes; "" for SQLite
	Server     *api.Server
	DB         *store.DB
	OrgID      string
	AdminToken string
	SCIMToken  string
}

// Server starts the API on a fresh Postgres database.
func Server(t testing.TB) *Env {
	t.Helper()
	u := DatabaseURL(t)
	e := ServerOn(t, openDB(t, u))
	e.DBURL = u
	return e
}

// ServerOn starts the API on db and bootstraps an org in it.
func ServerOn(t testing.TB, db *store.DB) *Env {
	t.Helper()
	srv := &api.Server{Auth: db, Orgs: db, Users: db, Groups: db, EntryPoints: db, Access: db, Tokens: db, Governance: db, Sessions: db, Traffic: db,
		Ready: []api.ReadyCheck{{Name: "database", Check: db.Ping}, {Name: "schema", Check: db.CheckSchema}}, Metrics: metrics.New(),
		// Tests and benchmarks send far more than an IdP; the limits have
		// tests of their own.
		Limits: api.Limits{Rate: -1},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e := &Env{T: t, URL: hs.URL, DB: db, Server: srv}
	e.OrgID, e.AdminToken, e.SCIMToken = e.NewOrg("Acme", scimflow.PlanBusiness)
	return e
}

// NewOrg creates another org in the same database and returns its id, an
// admin token and a SCIM token.
func (e *Env) NewOrg(name string, plan scimflow.Plan) (orgID, adminToken, scimToken string) {
	e.T.Helper()
	ctx := context.Background()
	b, err := e.DB.CreateOrg(ctx, store.NewOrg{Name: name, Plan: plan, SCIMGroups: true})
	if err != nil {
		e.T.Fatalf("create org: %v", err)
	}
	_, secret, err := e.DB.CreateToken(ctx, b.Org.ID, store.NewToken{Scope: scimflow.ScopeSCIM, Name: "test"})
	if err != nil {
		e.T.Fatalf("create scim token: %v", err)
	}
	return b.Org.ID, b.TokenSecret, secret
}

// Response is a recorded HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map (numbers as json.Number).
func (r *Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("response body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// Do sends a request with the given bearer token. body may be nil, a
// string (sent as is) or any value (sent as JSON). Extra headers are
// "Name: value" strings.
func (e *Env) Do(token, method, path string, body any, headers ...string) *Response {
	e.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.T.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		e.T.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		if strings.EqualFold(strings.TrimSpace(k), "Host") {
			req.Host = strings.TrimSpace(v) // the client sends req.Host, not a Host header
			continue
		}
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.T.Fatal(err)
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// SCIM sends a request with the org's SCIM token.
func (e *Env) SCIM(method, path string, body any, headers ...string) *Response {
	e.T.Helper()
	return e.Do(e.SCIMToken, method, path, body, headers...)
}

// PatchOp builds a SCIM PATCH request body (RFC 7644 §3.5.2) from operations.
func PatchOp(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, op := range ops {
		list[i] = op
	}
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": list}
}

// Members builds a members value: [{"value": id}, ...].
func Members(ids ...string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = map[string]any{"value": id}
	}
	return out
}
