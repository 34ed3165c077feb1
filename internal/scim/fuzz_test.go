package scim

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scimflow/scimflow/internal/scim/schema"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// decodeSeeds are request bodies of POST and PUT /Users and /Groups, from
// api/testdata/fixtures (ids filled in), and a few oddities.
var decodeSeeds = []string{
	// entra-aadoptscim062020.json: create
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"externalId":"diegos","userName":"DiegoS@contoso.onmicrosoft.com","active":true,"displayName":"Diego Siciliani","emails":[{"primary":true,"type":"work","value":"DiegoS@contoso.com"}],"meta":{"resourceType":"User"},"name":{"formatted":"Diego Siciliani","familyName":"Siciliani","givenName":"Diego"},"roles":[{"primary":false,"type":"WindowsAzureActiveDirectoryRole","display":"User","value":"User"},{"primary":false,"type":"WindowsAzureActiveDirectoryRole","display":"Test","value":"Test"}]}`,
	// entra-default-dialect.json: manager: create
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"externalId":"meganb","userName":"MeganB@contoso.onmicrosoft.com","active":true,"displayName":"Megan Bowen","emails":[{"primary":true,"type":"work","value":"MeganB@contoso.com"}],"meta":{"resourceType":"User"},"name":{"formatted":"Megan Bowen","familyName":"Bowen","givenName":"Megan"},"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"100001","department":"Marketing"},"urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User":{"CustomAttribute":"701984"},"roles":[{"primary":true,"type":"WindowsAzureActiveDirectoryRole","value":"Admin"}]}`,
	// entra-default-dialect.json: create with enterprise extension, an unadvertised custom extension, explicit nulls and roles: []
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"],"externalId":"adelev","userName":"AdeleV@contoso.onmicrosoft.com","active":true,"displayName":"Adele Vance","title":"Retail Manager","preferredLanguage":"en-US","nickName":null,"emails":[{"primary":true,"type":"work","value":"AdeleV@contoso.com"}],"meta":{"resourceType":"User"},"name":{"formatted":"Adele Vance","familyName":"Vance","givenName":"Adele","middleName":null},"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"100042","department":"Retail","costCenter":null},"urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User":{"tag":"701984"},"roles":[]}`,
	// okta-user-lifecycle.json: create
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"isaiah.berlin@example.com","name":{"givenName":"Isaiah","familyName":"Berlin"},"emails":[{"primary":true,"value":"isaiah.berlin@example.com","type":"work"}],"displayName":"Isaiah Berlin","locale":"en-US","externalId":"00u1dhhb1fkIGP7RL1d8","groups":[],"password":"1mz050nq","active":true}`,
	// okta-user-lifecycle.json: profile update by PUT echoing read-only attributes
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"6f1c3a52-9d0e-4b7a-8f55-0c2d9e4b1a77","userName":"isaiah.berlin@example.com","name":{"givenName":"Isaiah","familyName":"Berlin-Smith"},"emails":[{"primary":true,"value":"isaiah.berlin@example.com","type":"work"}],"displayName":"Isaiah Berlin-Smith","locale":"en-US","externalId":"00u1dhhb1fkIGP7RL1d8","groups":[],"password":"1mz050nq","active":true,"meta":{"resourceType":"User","created":"2020-01-01T00:00:00Z"}}`,
	// okta-wizard-put.json: profile update: PUT the full profile back, echoing id, meta, groups and password
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"6f1c3a52-9d0e-4b7a-8f55-0c2d9e4b1a77","userName":"ada.lovelace@example.org","name":{"givenName":"Ada","middleName":"King","familyName":"Lovelace"},"emails":[{"primary":true,"value":"ada.lovelace@example.org","type":"work","display":"ada.lovelace@example.org"}],"displayName":"Ada King Lovelace","nickName":"Ada","locale":"en-GB","title":"Analyst","externalId":"00u8xk2lq9ZrT4pW65d7","active":true,"groups":[],"password":"7gk2Qx9vLr","meta":{"resourceType":"User"}}`,
	// scim-errors.json: POST without userName; with userName of the wrong type
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"externalId":"ext-nameless","name":{"givenName":"No","familyName":"Name"},"active":true}`,
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":42,"externalId":"ext-number"}`,
	// groups-entra-default.json: Create Group: core + ADSCIM schema URIs, externalId, meta.resourceType, one member
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],"externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"Marketing","members":[{"$ref":null,"value":"6f1c3a52-9d0e-4b7a-8f55-0c2d9e4b1a77"}],"meta":{"resourceType":"Group"}}`,
	// groups-entra-flag.json: create without members
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],"externalId":"5c7a2f0e-8d41-4a57-9a5b-0c2f3e1d9b77","displayName":"Retail","meta":{"resourceType":"Group"}}`,
	// groups-errors.json: POST with three members; without displayName; with displayName null
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Finance","externalId":"fin-1","members":[{"value":"7c3e9a51-2b4d-4f6e-9a8b-0d1c2e3f4a5b"},{"value":"6f1c3a52-9d0e-4b7a-8f55-0c2d9e4b1a77"},{"value":"7c3e9a51-2b4d-4f6e-9a8b-0d1c2e3f4a5c"}]}`,
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"externalId":"no-name","members":[{"value":"6f1c3a52-9d0e-4b7a-8f55-0c2d9e4b1a77"}]}`,
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":null,"externalId":"no-name"}`,
	// groups-okta-oin.json: Create Groups: no externalId, members: []
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Test SCIMv2","members":[]}`,
	// groups-okta-wizard-put.json: rename and add user 3: PUT echoing the read-only id and meta
	`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"0b6f4c1e-9d2a-4e8b-b7c3-5a1d2e3f4c6d","displayName":"Test SCIMv20","members":[{"value":"5b1e2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e","display":"lena.fischer@okta.local"},{"value":"6f1c3a52-9d0e-4b7a-8f55-0c2d9e4b1a77","display":"omar.haddad@okta.local"}],"meta":{"resourceType":"Group","created":"2019-09-10T04:54:18.000Z","lastModified":"2019-09-10T04:54:18.000Z","location":"https://example.com/scim/v2/Groups/0b6f4c1e-9d2a-4e8b-b7c3-5a1d2e3f4c6d"}}`,
	// Oddities: Entra's string booleans and plain-string manager, single
	// objects for arrays, a nested group, members of the wrong shape, an
	// attribute given twice.
	`{"userName":" u ","active":"False","emails":{"value":"a@b","primary":"True"},"addresses":[{"type":"work"},{}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"m1"}}`,
	`{"userName":"u","x509Certificates":[{"value":"AAAA"}],"photos":[{"value":"https://x/p.png","type":"photo"}],"urn:ietf:params:scim:schemas:core:2.0:User:nickName":"n"}`,
	`{"userName":"u","userName2":1,"USERNAME":"v"}`,
	`{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"","manager":{"value":""}}}`,
	`{"displayName":"g","members":{"value":"u1","type":"Group"}}`,
	`{"displayName":"g","members":[{"value":""}]}`,
	`{"displayName":"g","members":["u1"]}`,
}

// FuzzDecode decodes random documents as a POST or PUT of a User and of a
// Group. Properties: nothing panics; errors are client errors
// (*scimflow.Error, 400, with a scimType); what decodes respects the value
// limits, and encodes to a document that decodes to the same resource, so
// that a PATCH that changes nothing changes nothing.
func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		dec := json.NewDecoder(strings.NewReader(in))
		dec.UseNumber()
		var raw map[string]any
		if dec.Decode(&raw) != nil || raw == nil {
			return
		}
		if u, ok := fuzzDecodeUser(t, raw); ok {
			checkUserLimits(t, u)
			again, ok := fuzzDecodeUser(t, encodeAsClient(t, EncodeUser(u, "https://example.com/scim/v2")))
			if !ok {
				t.Fatalf("the encoding of %+v does not decode", u)
			}
			if diff := cmp.Diff(u, again); diff != "" {
				t.Fatalf("decoding %s, then its encoding, differs (-first +second):\n%s", in, diff)
			}
		}
		if g, ids, ok := fuzzDecodeGroup(t, raw); ok {
			if len(ids) > MaxMembersPerOperation {
				t.Fatalf("DecodeGroup(%.200s) = %d members, more than %d", in, len(ids), MaxMembersPerOperation)
			}
			again, _, ok := fuzzDecodeGroup(t, encodeAsClient(t, EncodeGroup(g, "https://example.com/scim/v2")))
			if !ok {
				t.Fatalf("the encoding of %+v does not decode", g)
			}
			if diff := cmp.Diff(g, again); diff != "" {
				t.Fatalf("decoding %s, then its encoding, differs (-first +second):\n%s", in, diff)
			}
		}
	})
}

func fuzzDecodeUser(t *testing.T, raw map[string]any) (*scimflow.User, bool) {
	t.Helper()
	norm, err := schema.Normalize(raw, schema.UserResourceType)
	if err != nil {
		checkClientError(t, "Normalize", err)
		return nil, false
	}
	u, err := DecodeUser(norm)
	if err != nil {
		checkClientError(t, "DecodeUser", err)
		return nil, false
	}
	return u, true
}

func fuzzDecodeGroup(t *testing.T, raw map[string]any) (*scimflow.Group, []string, bool) {
	t.Helper()
	norm, err := schema.Normalize(raw, schema.GroupResourceType)
	if err != nil {
		checkClientError(t, "Normalize", err)
		return nil, nil, false
	}
	g, ids, _, err := DecodeGroup(norm, raw)
	if err != nil {
		checkClientError(t, "DecodeGroup", err)
		return nil, nil, false
	}
	return g, ids, true
}

// encodeAsClient passes doc through JSON, as a client reading it and
// sending it back would.
func encodeAsClient(t *testing.T, doc map[string]any) map[string]any {
	t.Helper()
	return decodeJSON(t, mustJSON(t, doc))
}

func checkUserLimits(t *testing.T, u *scimflow.User) {
	t.Helper()
	for name, n := range map[string]int{
		"emails": len(u.Emails), "phoneNumbers": len(u.PhoneNumbers), "ims": len(u.IMs), "photos": len(u.Photos),
		"entitlements": len(u.Entitlements), "roles": len(u.Roles), "x509Certificates": len(u.X509Certificates),
		"addresses": len(u.Addresses),
	} {
		if n > MaxValuesPerAttribute {
			t.Fatalf("DecodeUser = %d %s, more than %d", n, name, MaxValuesPerAttribute)
		}
	}
}

func checkClientError(t *testing.T, fn string, err error) {
	t.Helper()
	var e *scimflow.Error
	if !errors.As(err, &e) || e.Code != scimflow.EINVALID || e.SCIMType == "" {
		t.Fatalf("%s error %#v is not a 400 *scimflow.Error with a scimType", fn, err)
	}
}
