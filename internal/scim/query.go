package scim

import "github.com/scimflow/scimflow/internal/scim/filter"

// ListQuery selects a page of resources (RFC 7644 §3.4.2).
type ListQuery struct {
	Filter     filter.Expr // nil: every resource
	SortBy     string      // attribute path; "" keeps creation order
	Descending bool
	StartIndex int // 1-based
	Count      int // page size; 0 asks only for totalResults
}
