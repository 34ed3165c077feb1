package patch_test

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/scimflow/scimflow/internal/scim/patch"
	"github.com/scimflow/scimflow/internal/scim/schema"
)

func ExampleApply() {
	// A PATCH request as Microsoft Entra ID sends it.
	body := []byte(`{
		"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations": [
			{"op": "Replace", "path": "active", "value": "False"},
			{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "bjensen@example.com"}
		]
	}`)
	ops, err := patch.Parse(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	stored := map[string]any{
		"schemas":  []any{schema.UserURN},
		"id":       "2819c223-7f76-453a-919d-413861904646",
		"userName": "bjensen",
		"active":   true,
	}
	doc, err := patch.Apply(stored, ops, schema.UserResourceType)
	if err != nil {
		fmt.Println(err)
		return
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.Encode(doc)
	// Output:
	// {
	//   "active": false,
	//   "emails": [
	//     {
	//       "type": "work",
	//       "value": "bjensen@example.com"
	//     }
	//   ],
	//   "id": "2819c223-7f76-453a-919d-413861904646",
	//   "schemas": [
	//     "urn:ietf:params:scim:schemas:core:2.0:User"
	//   ],
	//   "userName": "bjensen"
	// }
}
