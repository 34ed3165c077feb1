package schema

// The definitions below follow RFC 7643 §3.1 (common attributes), §4 and
// the machine-readable representation of §8.7.1 and §8.7.2, with two
// scimflow decisions: "password" is writeOnly and returned never, and is
// never stored; Group "members.display" is accepted as an immutable
// sub-attribute (RFC 7643 §4.2 names it, §8.7.1 omits it).
//
// They are package variables so that callers can pass them around cheaply;
// like unicode's tables they are shared and must not be modified.

// CommonAttributes are the attributes every resource has (RFC 7643 §3.1).
// They belong to no schema and are not listed by GET /Schemas.
var CommonAttributes = []Attribute{
	withDefaults(Attribute{
		Name:        "id",
		Type:        TypeString,
		Description: "A unique identifier for a SCIM resource as defined by the service provider.",
		CaseExact:   true,
		Mutability:  MutabilityReadOnly,
		Returned:    ReturnedAlways,
		Uniqueness:  UniquenessServer,
	}),
	withDefaults(Attribute{
		Name:        "externalId",
		Type:        TypeString,
		Description: "A String that is an identifier for the resource as defined by the provisioning client.",
		CaseExact:   true,
	}),
	withDefaults(Attribute{
		Name:        "meta",
		Type:        TypeComplex,
		Description: "A complex attribute containing resource metadata.",
		Mutability:  MutabilityReadOnly,
		SubAttributes: []Attribute{
			{Name: "resourceType", Type: TypeString, Description: "The name of the resource type of the resource.", CaseExact: true, Mutability: MutabilityReadOnly},
			{Name: "created", Type: TypeDateTime, Description: "The DateTime that the resource was added to the service provider.", Mutability: MutabilityReadOnly},
			{Name: "lastModified", Type: TypeDateTime, Description: "The most recent DateTime that the details of this resource were updated at the service provider.", Mutability: MutabilityReadOnly},
			{Name: "location", Type: TypeReference, ReferenceTypes: []string{"uri"}, Description: "The URI of the resource being returned.", CaseExact: true, Mutability: MutabilityReadOnly},
			{Name: "version", Type: TypeString, Description: "The version of the resource being returned.", CaseExact: true, Mutability: MutabilityReadOnly},
		},
	}),
}

// User is the core User schema (RFC 7643 §4.1, §8.7.1).
var User = Schema{
	ID:          UserURN,
	Name:        "User",
	Description: "User Account",
	Attributes: defaults([]Attribute{
		{
			Name:        "userName",
			Type:        TypeString,
			Description: "Unique identifier for the User, typically used by the user to directly authenticate to the service provider. Each User MUST include a non-empty userName value. This identifier MUST be unique across the service provider's entire set of Users.",
			Required:    true,
			Uniqueness:  UniquenessServer,
		},
		{
			Name:        "name",
			Type:        TypeComplex,
			Description: "The components of the user's real name.",
			SubAttributes: []Attribute{
				{Name: "formatted", Type: TypeString, Description: "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display (e.g., 'Ms. Barbara J Jensen, III')."},
				{Name: "familyName", Type: TypeString, Description: "The family name of the User, or last name in most Western languages (e.g., 'Jensen' given the full name 'Ms. Barbara J Jensen, III')."},
				{Name: "givenName", Type: TypeString, Description: "The given name of the User, or first name in most Western languages (e.g., 'Barbara' given the full name 'Ms. Barbara J Jensen, III')."},
				{Name: "middleName", Type: TypeString, Description: "The middle name(s) of the User (e.g., 'Jane' given the full name 'Ms. Barbara J Jensen, III')."},
				{Name: "honorificPrefix", Type: TypeString, Description: "The honorific prefix(es) of the User, or title in most Western languages (e.g., 'Ms.' given the full name 'Ms. Barbara J Jensen, III')."},
				{Name: "honorificSuffix", Type: TypeString, Description: "The honorific suffix(es) of the User, or suffix in most Western languages (e.g., 'III' given the full name 'Ms. Barbara J Jensen, III')."},
			},
		},
		{Name: "displayName", Type: TypeString, Description: "The name of the User, suitable for display to end-users. The name SHOULD be the full name of the User being described, if known."},
		{Name: "nickName", Type: TypeString, Description: "The casual way to address the user in real life, e.g., 'Bob' or 'Bobby' instead of 'Robert'."},
		{Name: "profileUrl", Type: TypeReference, ReferenceTypes: []string{"external"}, Description: "A fully qualified URL pointing to a page representing the User's online profile."},
		{Name: "title", Type: TypeString, Description: "The user's title, such as \"Vice President.\""},
		{Name: "userType", Type: TypeString, Description: "Used to identify the relationship between the organization and the user. Typical values used might be 'Contractor', 'Employee', 'Intern', 'Temp', 'External', and 'Unknown', but any value may be used."},
		{Name: "preferredLanguage", Type: TypeString, Description: "Indicates the User's preferred written or spoken language. Generally used for selecting a localized user interface; e.g., 'en_US' specifies the language English and country US."},
		{Name: "locale", Type: TypeString, Description: "Used to indicate the User's default location for purposes of localizing items such as currency, date time format, or numerical representations."},
		{Name: "timezone", Type: TypeString, Description: "The User's time zone in the 'Olson' time zone database format, e.g., 'America/Los_Angeles'."},
		{Name: "active", Type: TypeBoolean, Description: "A Boolean value indicating the User's administrative status."},
		{
			Name:        "password",
			Type:        TypeString,
			Description: "The User's cleartext password. scimflow accepts and discards it: it never stores passwords.",
			Mutability:  MutabilityWriteOnly,
			Returned:    ReturnedNever,
		},
		plural("emails", "Email addresses for the user. The value SHOULD be canonicalized by the service provider, e.g., 'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'. Canonical type values of 'work', 'home', and 'other'.",
			TypeString, "Email addresses for the user.", []string{"work", "home", "other"}),
		plural("phoneNumbers", "Phone numbers for the User. The value SHOULD be canonicalized by the service provider according to the format specified in RFC 3966, e.g., 'tel:+1-201-555-0123'. Canonical type values of 'work', 'home', 'mobile', 'fax', 'pager', and 'other'.",
			TypeString, "Phone number of the User.", []string{"work", "home", "mobile", "fax", "pager", "other"}),
		plural("ims", "Instant messaging addresses for the User.",
			TypeString, "Instant messaging address for the User.", []string{"aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"}),
		plural("photos", "URLs of photos of the User.",
			TypeReference, "URL of a photo of the User.", []string{"photo", "thumbnail"}, "external"),
		{
			Name:        "addresses",
			Type:        TypeComplex,
			MultiValued: true,
			Description: "A physical mailing address for this User. Canonical type values of 'work', 'home', and 'other'.",
			SubAttributes: []Attribute{
				{Name: "formatted", Type: TypeString, Description: "The full mailing address, formatted for display or use with a mailing label. This attribute MAY contain newlines."},
				{Name: "streetAddress", Type: TypeString, Description: "The full street address component, which may include house number, street name, P.O. box, and multi-line extended street address information. This attribute MAY contain newlines."},
				{Name: "locality", Type: TypeString, Description: "The city or locality component."},
				{Name: "region", Type: TypeString, Description: "The state or region component."},
				{Name: "postalCode", Type: TypeString, Description: "The zip code or postal code component."},
				{Name: "country", Type: TypeString, Description: "The country name component."},
				{Name: "type", Type: TypeString, CanonicalValues: []string{"work", "home", "other"}, Description: "A label indicating the attribute's function, e.g., 'work' or 'home'."},
				{Name: "primary", Type: TypeBoolean, Description: "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the preferred mailing address or primary email address. The primary attribute value 'true' MUST appear no more than once."},
			},
		},
		{
			Name:        "groups",
			Type:        TypeComplex,
			MultiValued: true,
			Description: "A list of groups to which the user belongs. Returned only when asked for (attributes=groups), so that a User's ETag does not depend on its groups.",
			Mutability:  MutabilityReadOnly,
			Returned:    ReturnedRequest,
			SubAttributes: []Attribute{
				{Name: "value", Type: TypeString, Description: "The identifier of the User's group.", Mutability: MutabilityReadOnly},
				{Name: "$ref", Type: TypeReference, ReferenceTypes: []string{"User", "Group"}, Description: "The URI of the corresponding 'Group' resource to which the user belongs.", Mutability: MutabilityReadOnly},
				{Name: "display", Type: TypeString, Description: "A human-readable name, primarily used for display purposes.", Mutability: MutabilityReadOnly},
				{Name: "type", Type: TypeString, CanonicalValues: []string{"direct", "indirect"}, Description: "A label indicating the attribute's function, e.g., 'direct' or 'indirect'.", Mutability: MutabilityReadOnly},
			},
		},
		plural("entitlements", "A list of entitlements for the User that represent a thing the User has.",
			TypeString, "The value of an entitlement.", nil),
		plural("roles", "A list of roles for the User that collectively represent who the User is, e.g., 'Student', 'Faculty'.",
			TypeString, "The value of a role.", nil),
		plural("x509Certificates", "A list of certificates issued to the User.",
			TypeBinary, "The value of an X.509 certificate.", nil),
	}),
}

// EnterpriseUser is the Enterprise User schema extension (RFC 7643 §4.3,
// §8.7.1).
var EnterpriseUser = Schema{
	ID:          EnterpriseUserURN,
	Name:        "EnterpriseUser",
	Description: "Enterprise User",
	Attributes: defaults([]Attribute{
		{Name: "employeeNumber", Type: TypeString, Description: "Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association with an organization."},
		{Name: "costCenter", Type: TypeString, Description: "Identifies the name of a cost center."},
		{Name: "organization", Type: TypeString, Description: "Identifies the name of an organization."},
		{Name: "division", Type: TypeString, Description: "Identifies the name of a division."},
		{Name: "department", Type: TypeString, Description: "Identifies the name of a department."},
		{
			Name:        "manager",
			Type:        TypeComplex,
			Description: "The User's manager. A complex type that optionally allows service providers to represent organizational hierarchy by referencing the 'id' attribute of another User.",
			SubAttributes: []Attribute{
				{Name: "value", Type: TypeString, Description: "The id of the SCIM resource representing the User's manager."},
				{Name: "$ref", Type: TypeReference, ReferenceTypes: []string{"User"}, Description: "The URI of the SCIM resource representing the User's manager."},
				{Name: "displayName", Type: TypeString, Description: "The displayName of the User's manager.", Mutability: MutabilityReadOnly},
			},
		},
	}),
}

// Group is the core Group schema (RFC 7643 §4.2, §8.7.1).
var Group = Schema{
	ID:          GroupURN,
	Name:        "Group",
	Description: "Group",
	Attributes: defaults([]Attribute{
		{Name: "displayName", Type: TypeString, Description: "A human-readable name for the Group, unique within the org (case-insensitive).", Required: true, Uniqueness: UniquenessServer},
		{
			Name:        "members",
			Type:        TypeComplex,
			MultiValued: true,
			Description: "A list of members of the Group.",
			MaxValues:   MaxMembersPerOperation,
			SubAttributes: []Attribute{
				{Name: "value", Type: TypeString, Description: "Identifier of the member of this Group.", Mutability: MutabilityImmutable},
				{Name: "$ref", Type: TypeReference, ReferenceTypes: []string{"User"}, Description: "The URI of the User that is a member of this Group. Nested groups are not supported.", Mutability: MutabilityImmutable},
				{Name: "display", Type: TypeString, Description: "A human-readable name, primarily used for display purposes.", Mutability: MutabilityImmutable},
				{Name: "type", Type: TypeString, CanonicalValues: []string{"User"}, Description: "The type of the member: always 'User' (nested groups are not supported).", Mutability: MutabilityImmutable},
			},
		},
	}),
}

// plural returns a multi-valued complex attribute with the sub-attributes
// value, display, type and primary shared by emails, phoneNumbers, ims,
// photos, entitlements, roles and x509Certificates (RFC 7643 §2.4, §4.1.2).
func plural(name, desc, valueType, valueDesc string, types []string, refTypes ...string) Attribute {
	return Attribute{
		Name:        name,
		Type:        TypeComplex,
		MultiValued: true,
		Description: desc,
		SubAttributes: []Attribute{
			{Name: "value", Type: valueType, ReferenceTypes: refTypes, Description: valueDesc},
			{Name: "display", Type: TypeString, Description: "A human-readable name, primarily used for display purposes."},
			{Name: "type", Type: TypeString, CanonicalValues: types, Description: "A label indicating the attribute's function."},
			{Name: "primary", Type: TypeBoolean, Description: "A Boolean value indicating the 'primary' or preferred attribute value for this attribute. The primary attribute value 'true' MUST appear no more than once."},
		},
	}
}

// defaults applies withDefaults to every attribute of attrs.
func defaults(attrs []Attribute) []Attribute {
	for i := range attrs {
		attrs[i] = withDefaults(attrs[i])
	}
	return attrs
}
