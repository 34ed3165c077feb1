// Package idp embeds the identity provider troubleshooting guides (the
// Markdown files next to this one), so that the admin UI serves them from
// the binary at /admin/docs/{guide}: one per directory (entra-id, okta,
// onelogin, jumpcloud, pingone, authentik, google-workspace, rippling),
// microsoft-validator for Microsoft's SCIM validator, and generic.
package idp

import "embed"

// Guides holds the guides, one Markdown file per slug.
//
//go:embed *.md
var Guides embed.FS
