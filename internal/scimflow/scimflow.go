// Package scimflow holds the domain types of scimflow (orgs, users, tokens,
// groups) and its one error type. It depends on nothing else in the module,
// carries no storage or transport tags, and every other package may import it.
package scimflow
