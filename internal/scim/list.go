package scim

import "encoding/json"

// ListResponse is a page of resources (RFC 7644 §3.4.2). startIndex and
// itemsPerPage are integers (Okta rejects strings). A cursor-paged page
// (RFC 9865) has nextCursor and previousCursor instead of startIndex, and
// totalResults only on its first page.
type ListResponse struct {
	Schemas        []string         `json:"schemas"`
	TotalResults   *int             `json:"totalResults,omitempty"`
	StartIndex     int              `json:"startIndex,omitempty"`
	ItemsPerPage   int              `json:"itemsPerPage"`
	NextCursor     string           `json:"nextCursor,omitempty"`
	PreviousCursor string           `json:"previousCursor,omitempty"`
	Resources      []map[string]any `json:"Resources"`
}

// NewListResponse builds a list response; Resources is never null.
func NewListResponse(total, startIndex int, resources []map[string]any) ListResponse {
	if resources == nil {
		resources = []map[string]any{}
	}
	return ListResponse{Schemas: []string{ListResponseURN}, TotalResults: &total, StartIndex: startIndex, ItemsPerPage: len(resources), Resources: resources}
}

// Head returns r as JSON without Resources and without its closing brace,
// for a response that streams its resources after it.
func (r ListResponse) Head() []byte {
	type head ListResponse
	h := head(r)
	h.Resources = nil
	b, _ := json.Marshal(struct {
		head
		Resources []map[string]any `json:"Resources,omitempty"`
	}{head: h})
	return b[:len(b)-1]
}
