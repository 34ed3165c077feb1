package scim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// CursorTimeout is how long a cursor stays valid after the page that
// returned it (RFC 9865 "cursorTimeout"): a position in a list does not
// go stale, but a client that stops paging for longer should start over.
const CursorTimeout = time.Hour

// maxCursorLen bounds the cursor a client may send: the sort key in it is
// at most an indexed value (1 kB), base64 adds a third.
const maxCursorLen = 4096

// Cursor is a position in a list, for cursor paging (RFC 9865): the sort
// key, creation time and id of a resource (the list's order, see
// ListQuery), and which way the page asked for goes from there. The first
// page of a cursor-paged list has no Cursor.
type Cursor struct {
	Key     any       // the sortBy expression at the position: string, bool or time.Time; nil without sortBy
	Created time.Time // meta.created at the position
	ID      string    // id at the position
	Before  bool      // the page that ends just before the position (previousCursor); else the one after it
}

type cursorJSON struct {
	V      int        `json:"v"`
	Query  string     `json:"q"`
	Before bool       `json:"b,omitempty"`
	KeyS   *string    `json:"ks,omitempty"`
	KeyB   *bool      `json:"kb,omitempty"`
	KeyT   *time.Time `json:"kt,omitempty"`
	Nil    bool       `json:"kn,omitempty"` // the sort key is null
	C      time.Time  `json:"c"`
	ID     string     `json:"i"`
	Issued int64      `json:"at"`
}

// QueryFingerprint names a query of resource type rt in cursors: a cursor
// continues only the query that returned it (RFC 9865 §2: every parameter
// but the cursor and count stays the same).
func QueryFingerprint(rt string, q ListQuery, filterText string) string {
	h := sha256.New()
	dir := "a"
	if q.Descending {
		dir = "d"
	}
	for _, s := range []string{rt, strings.ToLower(q.SortBy), dir, filterText} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// Encode returns c as an opaque cursor value for the query named by query
// (QueryFingerprint), issued at now. It holds only characters of the
// unreserved set of RFC 3986, as RFC 9865 asks: base64url without padding.
func (c Cursor) Encode(query string, now time.Time) string {
	j := cursorJSON{V: 1, Query: query, Before: c.Before, C: c.Created.UTC(), ID: c.ID, Issued: now.Unix()}
	switch k := c.Key.(type) {
	case nil:
		j.Nil = true
	case string:
		j.KeyS = &k
	case bool:
		j.KeyB = &k
	case time.Time:
		k = k.UTC()
		j.KeyT = &k
	}
	b, _ := json.Marshal(j)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor that Encode returned for the query named by
// query. A value that is not such a cursor, or one of another query, is
// 400 invalidCursor; one issued more than CursorTimeout before now is 400
// expiredCursor (RFC 9865 §2.1).
func DecodeCursor(s, query string, now time.Time) (Cursor, error) {
	invalid := scimflow.SCIMErrorf(scimflow.SCIMInvalidCursor,
		"cursor is not a value this server returned as nextCursor or previousCursor; leave it empty for the first page")
	if len(s) > maxCursorLen {
		return Cursor{}, invalid
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, invalid
	}
	var j cursorJSON
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil || j.V != 1 || j.ID == "" || j.C.IsZero() {
		return Cursor{}, invalid
	}
	if j.Query != query {
		return Cursor{}, scimflow.SCIMErrorf(scimflow.SCIMInvalidCursor,
			"cursor belongs to another query: page with the same filter, sortBy and sortOrder as the first page, or start again with an empty cursor")
	}
	if age := now.Sub(time.Unix(j.Issued, 0)); age > CursorTimeout {
		return Cursor{}, scimflow.SCIMErrorf(scimflow.SCIMExpiredCursor,
			"cursor expired: request the next page within %d seconds of the last one, or start again with an empty cursor", int(CursorTimeout.Seconds()))
	}
	c := Cursor{Created: j.C, ID: j.ID, Before: j.Before}
	switch {
	case j.KeyS != nil:
		c.Key = *j.KeyS
	case j.KeyB != nil:
		c.Key = *j.KeyB
	case j.KeyT != nil:
		c.Key = *j.KeyT
	case !j.Nil:
		return Cursor{}, invalid
	}
	return c, nil
}
