package patch

import (
	"strings"

	"github.com/scimflow/scimflow/internal/scim/filter"
)

// A replace whose value filter matches nothing has no target: RFC 7644
// §3.5.2.3 answers 400 noTarget. Microsoft Entra ID, though, maps its
// directory attributes to value paths and sends them as replace even when
// the user has no such value yet: a user whose mail is set after creation
// gets `Replace emails[type eq "work"].value`, and answering noTarget
// would leave that user failing on every provisioning cycle. For exactly
// the paths of Entra's documented default and app-role mappings, a replace
// that matches nothing creates the value from the filter instead.
// Anything else, including the same attributes with other types, is
// noTarget. docs/conformance.md lists this exception.

// entraTypedPaths maps an attribute to the types Entra ID selects it by
// and the sub-attributes it replaces under those types, all lower case.
var entraTypedPaths = map[string]map[string][]string{
	"emails":       {"work": {"value"}, "other": {"value"}},
	"phonenumbers": {"work": {"value"}, "mobile": {"value"}, "fax": {"value"}},
	"addresses": {
		"work":  {"formatted", "streetaddress", "locality", "region", "postalcode", "country"},
		"other": {"formatted"},
	},
}

// entraCreates reports whether t is one of the value paths for which a
// replace that matches nothing creates the value (see above):
// `emails[type eq "work"].value` and the other typed paths of
// entraTypedPaths, and `roles[primary eq "True"].value` (also .display and
// .type), the target of Entra's app role mappings.
func entraCreates(t target) bool {
	if t.res.Sub == nil || t.res.Extension {
		return false
	}
	c, ok := t.filter.(*filter.Compare)
	if !ok || c.Op != filter.OpEq || c.Attr.URI != "" || c.Attr.SubAttr != "" {
		return false
	}
	attr, sub := strings.ToLower(t.res.Attr.Name), strings.ToLower(t.res.Sub.Name)
	switch strings.ToLower(c.Attr.Name) {
	case "type":
		typ, ok := c.Value.(string)
		if !ok {
			return false
		}
		for _, s := range entraTypedPaths[attr][strings.ToLower(typ)] {
			if s == sub {
				return true
			}
		}
	case "primary":
		if attr != "roles" || (sub != "value" && sub != "display" && sub != "type") {
			return false
		}
		switch v := c.Value.(type) {
		case bool:
			return v
		case string:
			return strings.EqualFold(v, "true")
		}
	}
	return false
}
