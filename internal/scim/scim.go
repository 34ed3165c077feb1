// Package scim implements the SCIM 2.0 protocol surface of scimflow
// (RFC 7643, RFC 7644): resource representations, list responses, errors,
// ETags and the discovery documents. Sub-packages parse filters (filter),
// describe schemas (schema) and apply PATCH operations (patch).
package scim

// Media type of every SCIM response (RFC 7644 §3.1).
const MediaType = "application/scim+json"

// Message and schema URNs (RFC 7644 §3.1, RFC 7643 §8.7).
const (
	ListResponseURN  = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	ErrorURN         = "urn:ietf:params:scim:api:messages:2.0:Error"
	PatchOpURN       = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	SearchRequestURN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	UserURN          = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupURN         = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseURN    = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	SPConfigURN      = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	ResourceTypeURN  = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	SchemaURN        = "urn:ietf:params:scim:schemas:core:2.0:Schema"
)

// Limits advertised in ServiceProviderConfig and enforced by the API.
const (
	MaxBodyBytes    = 4 << 20 // 4 MiB: a PATCH with 10,000 member adds is ~600 KB
	MaxOperations   = 20000   // PATCH operations per request
	MaxResults      = 1000    // page size cap for list and .search
	DefaultPageSize = 100
)
