package scim

import (
	"strconv"
	"strings"
)

// ETag returns the weak entity tag of a resource version (RFC 7644 §3.14).
func ETag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

// ETagMatches reports whether an If-Match or If-None-Match header value
// names version: "*" matches any; weak and strong forms compare equal.
func ETagMatches(header string, version int64) bool {
	want := strconv.FormatInt(version, 10)
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" {
			return true
		}
		tag = strings.TrimPrefix(tag, "W/")
		if strings.Trim(tag, `"`) == want {
			return true
		}
	}
	return false
}

func itoa(n int) string { return strconv.Itoa(n) }
