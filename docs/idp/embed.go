// Package idp embeds the identity provider troubleshooting guides (the
// Markdown files next to this one), so that the admin UI serves them from
// the binary at /admin/docs/{entra-id,okta,onelogin,generic}.
package idp

import "embed"

// Guides holds entra-id.md, okta.md, onelogin.md and generic.md.
//
//go:embed *.md
var Guides embed.FS
