package scim

import (
	"strings"
	"time"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// EncodeUser renders u as a full SCIM User resource (RFC 7643 §4.1) with
// meta.location under baseURL (".../scim/v2"). Empty attributes are left
// out, as RFC 7643 §2.5 treats unassigned and empty alike. groups, when
// given, fills the read-only groups attribute.
func EncodeUser(u *scimflow.User, baseURL string, groups ...scimflow.Group) map[string]any {
	doc := map[string]any{"id": u.ID, "userName": u.UserName, "active": u.Active}
	schemas := []any{UserURN}
	put(doc, "externalId", u.ExternalID)
	put(doc, "displayName", u.DisplayName)
	put(doc, "nickName", u.NickName)
	put(doc, "profileUrl", u.ProfileURL)
	put(doc, "title", u.Title)
	put(doc, "userType", u.UserType)
	put(doc, "preferredLanguage", u.PreferredLanguage)
	put(doc, "locale", u.Locale)
	put(doc, "timezone", u.Timezone)
	if !u.Name.IsZero() {
		n := map[string]any{}
		put(n, "formatted", u.Name.Formatted)
		put(n, "familyName", u.Name.FamilyName)
		put(n, "givenName", u.Name.GivenName)
		put(n, "middleName", u.Name.MiddleName)
		put(n, "honorificPrefix", u.Name.HonorificPrefix)
		put(n, "honorificSuffix", u.Name.HonorificSuffix)
		doc["name"] = n
	}
	putMulti(doc, "emails", u.Emails)
	putMulti(doc, "phoneNumbers", u.PhoneNumbers)
	putMulti(doc, "ims", u.IMs)
	putMulti(doc, "photos", u.Photos)
	putMulti(doc, "entitlements", u.Entitlements)
	putMulti(doc, "roles", u.Roles)
	putMulti(doc, "x509Certificates", u.X509Certificates)
	if len(u.Addresses) > 0 {
		out := make([]any, len(u.Addresses))
		for i, a := range u.Addresses {
			m := map[string]any{}
			put(m, "formatted", a.Formatted)
			put(m, "streetAddress", a.StreetAddress)
			put(m, "locality", a.Locality)
			put(m, "region", a.Region)
			put(m, "postalCode", a.PostalCode)
			put(m, "country", a.Country)
			put(m, "type", a.Type)
			if a.Primary {
				m["primary"] = true
			}
			out[i] = m
		}
		doc["addresses"] = out
	}
	if e := u.Enterprise; e != nil {
		schemas = append(schemas, EnterpriseURN)
		m := map[string]any{}
		put(m, "employeeNumber", e.EmployeeNumber)
		put(m, "costCenter", e.CostCenter)
		put(m, "organization", e.Organization)
		put(m, "division", e.Division)
		put(m, "department", e.Department)
		if e.Manager != nil {
			mg := map[string]any{}
			put(mg, "value", e.Manager.Value)
			put(mg, "$ref", e.Manager.Ref)
			put(mg, "displayName", e.Manager.DisplayName)
			m["manager"] = mg
		}
		doc[EnterpriseURN] = m
	}
	if len(groups) > 0 {
		out := make([]any, len(groups))
		for i, g := range groups {
			out[i] = map[string]any{"value": g.ID, "$ref": baseURL + "/Groups/" + g.ID, "display": g.DisplayName, "type": "direct"}
		}
		doc["groups"] = out
	}
	doc["schemas"] = schemas
	doc["meta"] = meta("User", baseURL+"/Users/"+u.ID, u.Version, u.CreatedAt, u.UpdatedAt)
	return doc
}

func meta(resourceType, location string, version int64, created, modified time.Time) map[string]any {
	return map[string]any{
		"resourceType": resourceType,
		"created":      created.UTC().Format(time.RFC3339Nano),
		"lastModified": modified.UTC().Format(time.RFC3339Nano),
		"location":     location,
		"version":      ETag(version),
	}
}

func put(m map[string]any, key, v string) {
	if v != "" {
		m[key] = v
	}
}

func putMulti(doc map[string]any, key string, vals []scimflow.MultiValue) {
	if len(vals) == 0 {
		return
	}
	out := make([]any, len(vals))
	for i, v := range vals {
		m := map[string]any{}
		put(m, "value", v.Value)
		put(m, "display", v.Display)
		put(m, "type", v.Type)
		if v.Primary {
			m["primary"] = true
		}
		out[i] = m
	}
	doc[key] = out
}

// DecodeUser reads a User from a document already canonicalised by
// schema.Normalize (attribute names in the schema's spelling, read-only
// attributes dropped, booleans coerced). It checks what Normalize cannot:
// a non-empty userName. active defaults to true when absent (RFC 7643
// leaves it to the provider; every IdP expects a new user to be active).
func DecodeUser(doc map[string]any) (*scimflow.User, error) {
	d := decoder{}
	u := &scimflow.User{Active: true}
	u.UserName = strings.TrimSpace(d.str(doc, "userName"))
	if u.UserName == "" {
		return nil, scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "userName is required")
	}
	u.ExternalID = d.str(doc, "externalId")
	if v, ok := doc["active"].(bool); ok {
		u.Active = v
	}
	u.DisplayName = d.str(doc, "displayName")
	u.NickName = d.str(doc, "nickName")
	u.ProfileURL = d.str(doc, "profileUrl")
	u.Title = d.str(doc, "title")
	u.UserType = d.str(doc, "userType")
	u.PreferredLanguage = d.str(doc, "preferredLanguage")
	u.Locale = d.str(doc, "locale")
	u.Timezone = d.str(doc, "timezone")
	if n, ok := doc["name"].(map[string]any); ok {
		u.Name = scimflow.Name{
			Formatted: d.str(n, "formatted"), FamilyName: d.str(n, "familyName"), GivenName: d.str(n, "givenName"),
			MiddleName: d.str(n, "middleName"), HonorificPrefix: d.str(n, "honorificPrefix"), HonorificSuffix: d.str(n, "honorificSuffix"),
		}
	}
	u.Emails = d.multi(doc, "emails")
	u.PhoneNumbers = d.multi(doc, "phoneNumbers")
	u.IMs = d.multi(doc, "ims")
	u.Photos = d.multi(doc, "photos")
	u.Entitlements = d.multi(doc, "entitlements")
	u.Roles = d.multi(doc, "roles")
	u.X509Certificates = d.multi(doc, "x509Certificates")
	for _, el := range d.elements(doc, "addresses") {
		a := scimflow.Address{
			Formatted: d.str(el, "formatted"), StreetAddress: d.str(el, "streetAddress"), Locality: d.str(el, "locality"),
			Region: d.str(el, "region"), PostalCode: d.str(el, "postalCode"), Country: d.str(el, "country"),
			Type: d.str(el, "type"), Primary: el["primary"] == true,
		}
		if a != (scimflow.Address{}) { // only empty strings: encodes as nothing
			u.Addresses = append(u.Addresses, a)
		}
	}
	if e, ok := doc[EnterpriseURN].(map[string]any); ok && len(e) > 0 {
		ent := &scimflow.EnterpriseUser{
			EmployeeNumber: d.str(e, "employeeNumber"), CostCenter: d.str(e, "costCenter"), Organization: d.str(e, "organization"),
			Division: d.str(e, "division"), Department: d.str(e, "department"),
		}
		if m, ok := e["manager"].(map[string]any); ok {
			mg := &scimflow.Manager{Value: d.str(m, "value"), Ref: d.str(m, "$ref"), DisplayName: d.str(m, "displayName")}
			if *mg != (scimflow.Manager{}) {
				ent.Manager = mg
			}
		}
		if *ent != (scimflow.EnterpriseUser{}) { // only empty strings: encodes as nothing
			u.Enterprise = ent
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	return u, nil
}

// decoder reads typed values and keeps the first type error.
type decoder struct{ err error }

func (d *decoder) str(m map[string]any, key string) string {
	switch v := m[key].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		if d.err == nil {
			d.err = scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "%s must be a string", key)
		}
		return ""
	}
}

func (d *decoder) elements(doc map[string]any, key string) []map[string]any {
	arr, _ := doc[key].([]any)
	out := make([]map[string]any, 0, len(arr))
	for _, el := range arr {
		m, ok := el.(map[string]any)
		if !ok {
			if d.err == nil {
				d.err = scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "%s must be an array of objects", key)
			}
			continue
		}
		out = append(out, m)
	}
	return out
}

func (d *decoder) multi(doc map[string]any, key string) []scimflow.MultiValue {
	els := d.elements(doc, key)
	if len(els) == 0 {
		return nil
	}
	out := make([]scimflow.MultiValue, 0, len(els))
	for _, el := range els {
		mv := scimflow.MultiValue{Value: d.str(el, "value"), Display: d.str(el, "display"), Type: d.str(el, "type"), Primary: el["primary"] == true}
		if mv == (scimflow.MultiValue{}) {
			continue
		}
		out = append(out, mv)
	}
	if len(out) == 0 {
		return nil // as if absent, which is how it encodes
	}
	return out
}
