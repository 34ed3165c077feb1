package api

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/scim"
	"github.com/scimflow/scimflow/internal/scim/filter"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// listRequest is a query (RFC 7644 §3.4.2) from a query string or a
// POST .search body (§3.4.3), before validation.
type listRequest struct {
	Filter             string
	SortBy             string
	SortOrder          string
	StartIndex         string
	Count              string
	Attributes         string
	ExcludedAttributes string
	// Cursor is the cursor parameter of RFC 9865; HasCursor tells an empty
	// one (the first page of a cursor-paged list) from none (index paging).
	Cursor    string
	HasCursor bool
}

func listRequestFromQuery(c *gin.Context) listRequest {
	// Parameter names are case-insensitive in practice (clients send
	// startindex, Count); look them up without case.
	q := c.Request.URL.Query()
	has := func(name string) (string, bool) {
		for k, v := range q {
			if strings.EqualFold(k, name) {
				if len(v) == 0 {
					return "", true
				}
				return v[0], true
			}
		}
		return "", false
	}
	get := func(name string) string {
		v, _ := has(name)
		return v
	}
	r := listRequest{Filter: get("filter"), SortBy: get("sortBy"), SortOrder: get("sortOrder"),
		StartIndex: get("startIndex"), Count: get("count"),
		Attributes: get("attributes"), ExcludedAttributes: get("excludedAttributes")}
	r.Cursor, r.HasCursor = has("cursor")
	return r
}

// listRequestFromSearch reads a SearchRequest body (RFC 7644 §3.4.3).
func listRequestFromSearch(doc map[string]any) (listRequest, error) {
	var r listRequest
	for k, v := range doc {
		var err error
		switch strings.ToLower(k) {
		case "filter":
			r.Filter, err = asString(k, v)
		case "sortby":
			r.SortBy, err = asString(k, v)
		case "sortorder":
			r.SortOrder, err = asString(k, v)
		case "startindex":
			r.StartIndex, err = asNumber(k, v)
		case "count":
			r.Count, err = asNumber(k, v)
		case "attributes":
			r.Attributes, err = asList(k, v)
		case "excludedattributes":
			r.ExcludedAttributes, err = asList(k, v)
		case "cursor":
			r.Cursor, err = asString(k, v)
			r.HasCursor = true
		}
		if err != nil {
			return r, err
		}
	}
	return r, nil
}

func asString(k string, v any) (string, error) {
	if v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "%s must be a string", k)
	}
	return s, nil
}

func asNumber(k string, v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case json.Number:
		return v.String(), nil
	case string:
		return v, nil
	}
	return "", scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "%s must be an integer", k)
}

func asList(k string, v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case []any:
		parts := make([]string, 0, len(v))
		for _, el := range v {
			s, ok := el.(string)
			if !ok {
				return "", scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "%s must be an array of strings", k)
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	}
	return "", scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "%s must be an array of strings", k)
}

// parse validates r, a query of resource type rt ("User", "Group"), into
// a query and a projection.
func (r listRequest) parse(rt string) (scim.ListQuery, scim.Projection, error) {
	q := scim.ListQuery{StartIndex: 1, Count: scim.DefaultPageSize, SortBy: strings.TrimSpace(r.SortBy)}
	if strings.TrimSpace(r.Filter) != "" {
		f, err := filter.Parse(r.Filter)
		if err != nil {
			return q, scim.Projection{}, err
		}
		q.Filter = f
	}
	switch strings.ToLower(strings.TrimSpace(r.SortOrder)) {
	case "", "ascending":
	case "descending":
		q.Descending = true
	default:
		return q, scim.Projection{}, scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "sortOrder must be ascending or descending")
	}
	// RFC 7644 §3.4.2.4: startIndex < 1 means 1; a negative count means 0.
	if r.StartIndex != "" {
		n, err := strconv.Atoi(strings.TrimSpace(r.StartIndex))
		if err != nil {
			return q, scim.Projection{}, scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "startIndex must be an integer")
		}
		q.StartIndex = max(n, 1)
	}
	if r.Count != "" {
		n, err := strconv.Atoi(strings.TrimSpace(r.Count))
		if err != nil {
			return q, scim.Projection{}, scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "count must be an integer")
		}
		q.Count = min(max(n, 0), scim.MaxResults)
	}
	if err := r.cursor(rt, &q); err != nil {
		return q, scim.Projection{}, err
	}
	p, err := scim.ParseProjection(r.Attributes, r.ExcludedAttributes)
	return q, p, err
}

// cursor sets up cursor paging (RFC 9865) when r has a cursor parameter:
// an empty one asks for the first page, any other must be a nextCursor or
// previousCursor this server returned for the same query.
func (r listRequest) cursor(rt string, q *scim.ListQuery) error {
	if !r.HasCursor {
		return nil
	}
	if r.StartIndex != "" {
		return scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "startIndex and cursor select two ways of paging: send one of them")
	}
	// RFC 9865 §2: count is a positive integer.
	if r.Count != "" && q.Count < 1 {
		return scimflow.SCIMErrorf(scimflow.SCIMInvalidCount, "count must be between 1 and %d with cursor paging", scim.MaxResults)
	}
	q.Paging, q.StartIndex = scim.PagingCursor, 0
	cur := strings.TrimSpace(r.Cursor)
	if cur == "" {
		return nil
	}
	c, err := scim.DecodeCursor(cur, fingerprint(rt, *q), time.Now())
	if err != nil {
		return err
	}
	q.Cursor = &c
	return nil
}

// fingerprint names the query q of resource type rt in its cursors.
func fingerprint(rt string, q scim.ListQuery) string {
	f := ""
	if q.Filter != nil {
		f = filter.Format(q.Filter)
	}
	return scim.QueryFingerprint(rt, q, f)
}

// listResponse is the ListResponse of a page of n resources found by q.
func listResponse(rt string, q scim.ListQuery, pg scim.Page, resources []map[string]any) scim.ListResponse {
	resp := scim.NewListResponse(pg.Total, q.StartIndex, resources)
	if q.Paging != scim.PagingCursor {
		return resp
	}
	// Cursor pages have no startIndex, and only the first is counted.
	resp.StartIndex = 0
	if pg.Total < 0 {
		resp.TotalResults = nil
	}
	now, fp := time.Now(), fingerprint(rt, q)
	if pg.Next != nil {
		resp.NextCursor = pg.Next.Encode(fp, now)
	}
	if pg.Previous != nil {
		resp.PreviousCursor = pg.Previous.Encode(fp, now)
	}
	return resp
}

// projection reads attributes/excludedAttributes of a single-resource request.
func projection(c *gin.Context) (scim.Projection, error) {
	r := listRequestFromQuery(c)
	return scim.ParseProjection(r.Attributes, r.ExcludedAttributes)
}

// search answers POST .search (RFC 7644 §3.4.3) with query, the handler
// that also serves GET on the resource type.
func search(query func(*gin.Context, listRequest) error) handlerFunc {
	return func(c *gin.Context) error {
		doc, err := readJSON(c)
		if err != nil {
			return err
		}
		r, err := listRequestFromSearch(doc)
		if err != nil {
			return err
		}
		return query(c, r)
	}
}
