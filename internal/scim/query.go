package scim

import "github.com/scimflow/scimflow/internal/scim/filter"

// ListQuery selects a page of resources (RFC 7644 §3.4.2). Resources are
// ordered by SortBy, then by creation time and id, so that the order is
// total and a position in it is a Cursor.
type ListQuery struct {
	Filter     filter.Expr // nil: every resource
	SortBy     string      // attribute path; "" keeps creation order
	Descending bool
	StartIndex int // 1-based; ignored when Paging is PagingCursor
	Count      int // page size; 0 asks only for totalResults
	Paging     Paging
	Cursor     *Cursor // with PagingCursor: where the page starts; nil for the first page
}

// Paging is the pagination method of a list (RFC 9865 §2.4).
type Paging int

// Pagination methods. Index paging is the default: a client that sends
// no cursor parameter gets what RFC 7644 defines.
const (
	PagingIndex  Paging = iota // startIndex and count (RFC 7644 §3.4.2.4)
	PagingCursor               // cursor and count (RFC 9865)
)

// Page is what a list found besides its resources.
type Page struct {
	Total int // matches of the whole list; -1 when not counted (cursor pages after the first)
	// Next and Previous are the positions of the neighbouring pages of a
	// cursor-paged list; nil when there is none (or, for Previous, when
	// the page is the first).
	Next, Previous *Cursor
}
