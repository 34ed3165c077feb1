// Package scim implements the SCIM 2.0 protocol surface of scimflow
// (RFC 7643, RFC 7644): resource representations, list responses, errors,
// ETags and the discovery documents. Sub-packages parse filters (filter),
// describe schemas (schema) and apply PATCH operations (patch).
package scim

import (
	"github.com/scimflow/scimflow/internal/scim/patch"
	"github.com/scimflow/scimflow/internal/scim/schema"
)

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
	MaxResults      = 1000    // page size cap for list and .search
	DefaultPageSize = 100

	// PATCH operations per request, enforced by patch.Parse.
	MaxOperations = patch.MaxOperations
	// Values of one multi-valued attribute of a User (emails,
	// phoneNumbers, ims, photos, addresses, entitlements, roles,
	// x509Certificates) in a request and after a PATCH, enforced by
	// schema.NormalizeValue, patch.Parse and patch.Apply.
	MaxValuesPerAttribute = schema.MaxValuesPerAttribute
	// Group members in one POST, PUT or PATCH operation, enforced by
	// schema.NormalizeValue, patch.Parse and MemberIDs. A group may have
	// more, added by several operations.
	MaxMembersPerOperation = schema.MaxMembersPerOperation
)
