package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/scimflow/scimflow/internal/scim"
	"github.com/scimflow/scimflow/internal/scim/filter"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// Schema URNs that may qualify user attribute names in filters.
const (
	userURN       = "urn:ietf:params:scim:schemas:core:2.0:User"
	enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

// userColumns maps lower-cased attribute paths of the core User schema to
// columns of users (alias u). caseExact follows RFC 7643 §4.1 and §3.1:
// id and externalId are case-exact, everything else is not. search marks
// the columns of the users_search index.
var userColumns = map[string]column{
	"id":                   {expr: "u.id", caseExact: true},
	"externalid":           {expr: "u.external_id", caseExact: true, nullable: true},
	"username":             {expr: "u.user_name", search: true},
	"displayname":          {expr: "u.display_name", search: true},
	"nickname":             {expr: "u.nick_name"},
	"profileurl":           {expr: "u.profile_url", caseExact: true},
	"title":                {expr: "u.title"},
	"usertype":             {expr: "u.user_type"},
	"preferredlanguage":    {expr: "u.preferred_language"},
	"locale":               {expr: "u.locale"},
	"timezone":             {expr: "u.timezone"},
	"active":               {expr: "u.active", kind: kindBool},
	"name.formatted":       {expr: "u.name_formatted", search: true},
	"name.familyname":      {expr: "u.name_family_name", search: true},
	"name.givenname":       {expr: "u.name_given_name", search: true},
	"name.middlename":      {expr: "u.name_middle_name"},
	"name.honorificprefix": {expr: "u.name_honorific_prefix"},
	"name.honorificsuffix": {expr: "u.name_honorific_suffix"},
	"meta.created":         {expr: "u.created_at", kind: kindTime},
	"meta.lastmodified":    {expr: "u.updated_at", kind: kindTime},
	"meta.resourcetype":    {expr: "'User'", caseExact: true},
}

// enterpriseColumns maps attributes of the enterprise extension.
var enterpriseColumns = map[string]column{
	"employeenumber":      {expr: "u.employee_number"},
	"costcenter":          {expr: "u.cost_center"},
	"organization":        {expr: "u.organization"},
	"division":            {expr: "u.division"},
	"department":          {expr: "u.department"},
	"manager":             {expr: "u.manager_value", caseExact: true},
	"manager.value":       {expr: "u.manager_value", caseExact: true},
	"manager.displayname": {expr: "u.manager_display_name"},
	"manager.$ref":        {expr: "u.manager_ref", caseExact: true},
}

// multiAttrs maps lower-cased multi-valued attribute names to the value of
// user_values.attr.
var multiAttrs = map[string]string{
	"emails": attrEmails, "phonenumbers": attrPhoneNumbers, "ims": attrIMs, "photos": attrPhotos,
	"entitlements": attrEntitlements, "roles": attrRoles, "x509certificates": attrX509, "addresses": attrAddresses,
}

// valueColumns maps sub-attributes of multi-valued attributes to columns of
// user_values (alias v). Sub-attribute "value" of emails is case-insensitive
// (RFC 7643 §4.1.2 says emails are compared without case).
var valueColumns = map[string]column{
	"value":         {expr: "v.value"},
	"display":       {expr: "v.display"},
	"type":          {expr: "v.type"},
	"primary":       {expr: "v.is_primary", kind: kindBool},
	"formatted":     {expr: "v.formatted"},
	"streetaddress": {expr: "v.street_address"},
	"locality":      {expr: "v.locality"},
	"region":        {expr: "v.region"},
	"postalcode":    {expr: "v.postal_code"},
	"country":       {expr: "v.country"},
}

// multiAttr resolves a multi-valued attribute name.
func multiAttr(p filter.AttrPath) (string, error) {
	if p.URI != "" && !strings.EqualFold(p.URI, userURN) {
		return "", invalidFilter("unknown attribute %q", p.String())
	}
	attr, ok := multiAttrs[strings.ToLower(p.Name)]
	if !ok {
		return "", invalidFilter("%q is not a multi-valued attribute of User", p.String())
	}
	return attr, nil
}

func (userResolver) compare(b *sqlBuilder, c *filter.Compare, inMulti string) error {
	p := c.Attr
	if inMulti != "" { // inside emails[...]: Name is a sub-attribute
		if p.URI != "" || p.SubAttr != "" {
			return invalidFilter("unknown sub-attribute %q", p.String())
		}
		col, ok := subColumn(inMulti, p.Name)
		if !ok {
			return invalidFilter("unknown sub-attribute %q", p.Name)
		}
		return b.condition(col, c)
	}
	name := strings.ToLower(p.Name)
	if name == "schemas" && p.URI == "" && p.SubAttr == "" {
		return b.schemas(c)
	}
	// A multi-valued attribute outside brackets: emails.type eq "work"
	// means "some element's type is work"; emails co "x" compares value.
	if attr, ok := multiAttrs[name]; ok && (p.URI == "" || strings.EqualFold(p.URI, userURN)) {
		sub := p.SubAttr
		if sub == "" {
			sub = "value"
			if attr == attrAddresses {
				sub = "formatted"
			}
		}
		col, ok := subColumn(attr, sub)
		if !ok {
			return invalidFilter("unknown attribute %q", p.String())
		}
		if col.search {
			b.emailSearch(c)
		}
		return b.exists(valuesOf(b, attr), nil, func() error { return b.condition(col, c) })
	}
	col, ok := userColumn(p)
	if !ok {
		if name == "name" && p.SubAttr == "" && c.Op == filter.OpPr {
			b.w("(u.name_formatted <> '' OR u.name_family_name <> '' OR u.name_given_name <> '' OR u.name_middle_name <> '' OR u.name_honorific_prefix <> '' OR u.name_honorific_suffix <> '')")
			return nil
		}
		if name == "groups" {
			return b.groups(c)
		}
		return invalidFilter("unknown or unfilterable attribute %q", p.String())
	}
	return b.condition(col, c)
}

func subColumn(attr, sub string) (column, bool) {
	col, ok := valueColumns[strings.ToLower(sub)]
	if !ok {
		return column{}, false
	}
	isAddr := attr == attrAddresses
	switch strings.ToLower(sub) {
	case "value", "display":
		ok = !isAddr
	case "formatted", "streetaddress", "locality", "region", "postalcode", "country":
		ok = isAddr
	}
	if attr == attrPhotos && strings.ToLower(sub) == "value" {
		col.caseExact = true // a URL
	}
	if attr == attrEmails && strings.ToLower(sub) == "value" {
		col.search = true // through email_search: see emailSearch
	}
	return col, ok
}

func userColumn(p filter.AttrPath) (column, bool) {
	key := strings.ToLower(p.Name)
	if p.SubAttr != "" {
		key += "." + strings.ToLower(p.SubAttr)
	}
	switch {
	case p.URI == "":
		if c, ok := userColumns[key]; ok {
			return c, true
		}
		c, ok := enterpriseColumns[key] // unqualified extension names, leniently
		return c, ok
	case strings.EqualFold(p.URI, userURN):
		c, ok := userColumns[key]
		return c, ok
	case strings.EqualFold(p.URI, enterpriseURN):
		c, ok := enterpriseColumns[key]
		return c, ok
	}
	return column{}, false
}

// schemas handles `schemas eq "urn:..."`: the core schema is always there,
// the enterprise extension when the user has it.
func (b *sqlBuilder) schemas(c *filter.Compare) error {
	s, ok := c.Value.(string)
	switch {
	case c.Op == filter.OpPr:
		b.w("1=1")
	case !ok || (c.Op != filter.OpEq && c.Op != filter.OpNe):
		return invalidFilter("schemas supports eq, ne and pr with a string")
	default:
		cond := "1=0"
		switch {
		case strings.EqualFold(s, userURN):
			cond = "1=1"
		case strings.EqualFold(s, enterpriseURN):
			cond = "u.enterprise"
			if b.dialect == SQLite {
				cond = "u.enterprise = 1"
			}
		}
		if c.Op == filter.OpNe {
			cond = "NOT (" + cond + ")"
		}
		b.w(cond)
	}
	return nil
}

// groups handles filters on the read-only groups attribute:
// groups.value eq "<group id>" or groups pr.
func (b *sqlBuilder) groups(c *filter.Compare) error {
	sub := strings.ToLower(c.Attr.SubAttr)
	if sub != "" && sub != "value" {
		return invalidFilter("only groups.value can be filtered")
	}
	const groupsOf = "SELECT 1 FROM group_members gm WHERE gm.user_id = u.id"
	if c.Op == filter.OpPr {
		return b.exists(groupsOf, nil, nil)
	}
	s, ok := c.Value.(string)
	if !ok || c.Op != filter.OpEq {
		return invalidFilter("groups.value supports eq with a string and pr")
	}
	return b.exists(groupsOf, nil, func() error {
		b.w("gm.group_id = " + b.arg(s))
		return nil
	})
}

// userResolver maps User attributes to columns of users u and user_values v.
type userResolver struct{}

func (userResolver) valuePath(b *sqlBuilder, vp *filter.ValuePath) error {
	attr, err := multiAttr(vp.Attr)
	if err != nil {
		return err
	}
	if attr == attrEmails {
		if c := requiredValueMatch(vp.Filter); c != nil {
			b.emailSearch(c)
		}
	}
	return b.exists(valuesOf(b, attr), vp, func() error { return b.expr(vp.Filter, attr) })
}

// valuesOf is the FROM and WHERE of a subquery over the elements of
// multi-valued attribute attr of user u.
func valuesOf(b *sqlBuilder, attr string) string {
	return "SELECT 1 FROM user_values v WHERE v.user_id = u.id AND " + pinned("v.attr", b.pin) + " = " + b.arg(attr)
}

// requiredValueMatch returns a co, sw or ew on the value of the elements
// that every match of the value filter f must satisfy, or nil.
func requiredValueMatch(f filter.Expr) *filter.Compare {
	switch f := f.(type) {
	case *filter.Compare:
		if f.Attr.URI == "" && f.Attr.SubAttr == "" && strings.EqualFold(f.Attr.Name, "value") && isSubstring(f.Op) {
			return f
		}
	case *filter.Logical:
		if !strings.EqualFold(f.Op, "and") {
			return nil
		}
		if c := requiredValueMatch(f.Left); c != nil {
			return c
		}
		return requiredValueMatch(f.Right)
	}
	return nil
}

// emailSearch writes `lower(u.email_search) LIKE '%s%' AND`, to go before
// an EXISTS over emails whose elements must satisfy the co, sw or ew c on
// their value. Every such user matches it (email_search holds all their
// emails), and users_search serves it, so that it narrows the filter as a
// co on userName does; the EXISTS still decides.
func (b *sqlBuilder) emailSearch(c *filter.Compare) {
	s, ok := c.Value.(string)
	if !ok || !isSubstring(c.Op) || !hasTrigram(s) {
		return
	}
	b.w("lower(u.email_search) LIKE lower(" + b.arg("%"+likeEscape(s)+"%") + `) ESCAPE '\' AND `)
	if b.top {
		b.narrowed = true
	}
}

// order returns the ORDER BY expression for sortBy (RFC 7644 §3.4.2.3).
// Multi-valued attributes sort by their primary (else first) value.
func (userResolver) order(sortBy string) (string, bool, error) {
	if sortBy == "" {
		return "", false, nil
	}
	p, err := filter.ParsePath(sortBy)
	if err != nil || p.Filter != nil {
		return "", false, scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "sortBy %q is not an attribute path", sortBy)
	}
	if attr, ok := multiAttrs[strings.ToLower(p.Attr.Name)]; ok {
		sub := p.Attr.SubAttr
		if sub == "" {
			sub = "value"
			if attr == attrAddresses {
				sub = "formatted"
			}
		}
		col, ok := subColumn(attr, sub)
		if !ok {
			return "", false, scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "cannot sort by %q", sortBy)
		}
		// COALESCE: a user without the attribute sorts as "" (see sortKey).
		return fmt.Sprintf("COALESCE((SELECT lower(%s) FROM user_values v WHERE v.user_id = u.id AND v.attr = '%s' ORDER BY v.is_primary DESC, v.ord LIMIT 1), '')", col.expr, attr), true, nil
	}
	col, ok := userColumn(p.Attr)
	if !ok {
		return "", false, scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "cannot sort by %q", sortBy)
	}
	return sortKey(col), false, nil
}

// ListUsers returns a page of the SCIM users of org and the total number of
// matches (-1 when not counted, see ListUsersPage).
func (db *DB) ListUsers(ctx context.Context, orgID string, q scim.ListQuery) ([]*scimflow.User, int, error) {
	users, pg, err := db.listUsers(ctx, orgID, q, LargeOrg)
	return users, pg.Total, err
}

// ListUsersPage returns a page of the SCIM users of org, the total number
// of matches and, for cursor paging, the positions of the neighbouring
// pages.
func (db *DB) ListUsersPage(ctx context.Context, orgID string, q scim.ListQuery) ([]*scimflow.User, scim.Page, error) {
	return db.listUsers(ctx, orgID, q, LargeOrg)
}

// usersList is the list of the SCIM users of org, which is large above
// large users.
func usersList(orgID string, large int) resourceList {
	return resourceList{table: "users u", alias: "u", orgID: orgID, scopeCol: "u.source", scopeVal: "scim", noun: "users",
		search: "userName, displayName, name.formatted, name.givenName, name.familyName and emails (value)",
		r:      userResolver{}, large: large, uniqueKey: "lower(u.user_name)"}
}

// listUsers is ListUsers for an org that is large above large users.
func (db *DB) listUsers(ctx context.Context, orgID string, q scim.ListQuery, large int) ([]*scimflow.User, scim.Page, error) {
	var rows []userRow
	pg, err := db.find(ctx, usersList(orgID, large), q, &rows)
	if err != nil {
		return nil, pg, err
	}
	users, err := db.withValues(ctx, rows)
	return users, pg, err
}

// withValues loads the multi-valued attributes of a page of users in one query.
func (db *DB) withValues(ctx context.Context, rows []userRow) ([]*scimflow.User, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]string, len(rows))
	for i := range rows {
		ids[i] = rows[i].ID
	}
	var vals []userValueRow
	if err := db.gorm.WithContext(ctx).Where("user_id IN ?", ids).Order("user_id, attr, ord").Find(&vals).Error; err != nil {
		return nil, internal("list user values", err)
	}
	byUser := make(map[string][]userValueRow, len(rows))
	for _, v := range vals {
		byUser[v.UserID] = append(byUser[v.UserID], v)
	}
	out := make([]*scimflow.User, len(rows))
	for i := range rows {
		out[i] = rows[i].domain(byUser[rows[i].ID])
	}
	return out, nil
}
