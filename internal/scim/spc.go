package scim

// ServiceProviderConfig describes exactly what scimflow supports
// (RFC 7643 §5). Keep it in step with the README's support matrix.
func ServiceProviderConfig(baseURL, docsURL string) map[string]any {
	return map[string]any{
		"schemas":          []string{SPConfigURN},
		"documentationUri": docsURL,
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": MaxResults},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": true},
		// RFC 9865 §4: cursor paging next to startIndex, which stays the
		// default so that clients written for RFC 7644 see no change.
		"pagination": map[string]any{
			"cursor":                  true,
			"index":                   true,
			"defaultPaginationMethod": "index",
			"defaultPageSize":         DefaultPageSize,
			"maxPageSize":             MaxResults,
			"cursorTimeout":           int(CursorTimeout.Seconds()),
		},
		"etag": map[string]any{"supported": true},
		"authenticationSchemes": []any{map[string]any{
			"type":        "oauthbearertoken",
			"name":        "Bearer token",
			"description": "A SCIM token of the org, created with `scimflow token create --scope scim`, sent as `Authorization: Bearer <token>`.",
			"primary":     true,
		}},
		"meta": map[string]any{
			"resourceType": "ServiceProviderConfig",
			"location":     baseURL + "/ServiceProviderConfig",
		},
		// Not in RFC 7643 §5, but useful to clients that size requests.
		"maxRequestBodyBytes": MaxBodyBytes,
		// Not in RFC 7643 §5 either: every limit a request is refused by,
		// in one object (maxRequestBodyBytes stays where clients read it).
		"limits": map[string]any{
			"maxRequestBodyBytes":    MaxBodyBytes,
			"maxResults":             MaxResults,
			"maxPatchOperations":     MaxOperations,
			"maxValuesPerAttribute":  MaxValuesPerAttribute,
			"maxMembersPerOperation": MaxMembersPerOperation,
		},
	}
}
