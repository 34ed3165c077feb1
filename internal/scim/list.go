package scim

// ListResponse is a page of resources (RFC 7644 §3.4.2). startIndex and
// itemsPerPage are integers (Okta rejects strings).
type ListResponse struct {
	Schemas      []string         `json:"schemas"`
	TotalResults int              `json:"totalResults"`
	StartIndex   int              `json:"startIndex"`
	ItemsPerPage int              `json:"itemsPerPage"`
	Resources    []map[string]any `json:"Resources"`
}

// NewListResponse builds a list response; Resources is never null.
func NewListResponse(total, startIndex int, resources []map[string]any) ListResponse {
	if resources == nil {
		resources = []map[string]any{}
	}
	return ListResponse{Schemas: []string{ListResponseURN}, TotalResults: total, StartIndex: startIndex, ItemsPerPage: len(resources), Resources: resources}
}
