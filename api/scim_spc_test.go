package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/scimflow/scimflow/internal/testenv"
)

// TestServiceProviderConfigDocumentation follows the documentationUri a
// client reads from ServiceProviderConfig (RFC 7643 §5): it must name a
// page of this server that answers without signing in.
func TestServiceProviderConfigDocumentation(t *testing.T) {
	t.Parallel()
	env := testenv.Server(t)
	spc := env.SCIM("GET", "/scim/v2/ServiceProviderConfig", nil).JSON(t)
	uri, _ := spc["documentationUri"].(string)
	path, ok := strings.CutPrefix(uri, env.URL)
	if !ok || path == "" {
		t.Fatalf("documentationUri = %q, want a page under %s", uri, env.URL)
	}
	// A redirect (to the sign-in page, say) is not the page itself.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.Get(uri)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET %s = %d %s, want 200 text/html", uri, res.StatusCode, res.Header.Get("Content-Type"))
	}
}
