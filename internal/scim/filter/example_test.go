package filter_test

import (
	"encoding/json"
	"fmt"

	"github.com/scimflow/scimflow/internal/scim/filter"
	"github.com/scimflow/scimflow/internal/scimflow"
)

func ExampleParse() {
	e, err := filter.Parse(`emails[type eq "work"].value eq "bjensen@example.com"`)
	if err != nil {
		panic(err)
	}
	fmt.Println(filter.Format(e))

	_, err = filter.Parse(`userName eq bjensen`)
	fmt.Println(scimflow.ErrorMessage(err))
	// Output:
	// emails[type eq "work" and value eq "bjensen@example.com"]
	// invalid filter: expected a value after "eq" (a quoted string, a number, true, false or null), got "bjensen" at position 13
}

func ExampleParsePath() {
	p, err := filter.ParsePath(`emails[type eq "work"].value`)
	if err != nil {
		panic(err)
	}
	fmt.Printf("attribute %s, filter %s, sub-attribute %s\n", p.Attr, filter.Format(p.Filter), p.SubAttr)
	// Output:
	// attribute emails, filter type eq "work", sub-attribute value
}

func ExampleMatch() {
	var user map[string]any
	if err := json.Unmarshal([]byte(`{
		"userName": "bjensen",
		"emails": [
			{"value": "bjensen@example.com", "type": "work"},
			{"value": "babs@jensen.org", "type": "home"}
		]
	}`), &user); err != nil {
		panic(err)
	}
	e, err := filter.Parse(`userName eq "BJENSEN" and emails[type eq "home" and value ew "@example.com"]`)
	if err != nil {
		panic(err)
	}
	fmt.Println(filter.Match(e, user, nil))
	// Output:
	// false
}
