package api_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/scimflow/scimflow/internal/testenv"
)

// A fixture is a recorded conversation between an IdP and a SCIM server,
// replayed step by step against the real server and a real database.
//
// Strings may hold placeholders: {{base}} is the server URL, {{name}} a
// value captured from an earlier response. In expected bodies "{{any}}"
// matches any present value and "{{absent}}" requires the key to be
// missing. Expected bodies are subsets: objects may have more keys, arrays
// must have the same length and match element by element.
type fixture struct {
	Name  string `json:"name"`
	About string `json:"about"`
	Steps []step `json:"steps"`
}

type step struct {
	Name    string `json:"name"`
	Request struct {
		Method  string            `json:"method"`
		Path    string            `json:"path"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
		Raw     *string           `json:"raw"`   // sent verbatim instead of Body
		Token   string            `json:"token"` // "scim" (default), "none", or a literal
	} `json:"request"`
	Response struct {
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
		Capture map[string]string `json:"capture"` // name -> dotted path in the body
	} `json:"response"`
}

func TestFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/fixtures/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures found: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var f fixture
			if err := json.Unmarshal(b, &f); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			replay(t, testenv.Server(t), f)
		})
	}
}

var placeholder = regexp.MustCompile(`\{\{([A-Za-z0-9_]+)\}\}`)

func replay(t *testing.T, env *testenv.Env, f fixture) {
	vars := map[string]string{"base": env.URL}
	subst := func(s string) string {
		return placeholder.ReplaceAllStringFunc(s, func(m string) string {
			name := m[2 : len(m)-2]
			if name == "any" || name == "absent" {
				return m
			}
			v, ok := vars[name]
			if !ok {
				t.Fatalf("placeholder %s used before it was captured", m)
			}
			return v
		})
	}
	for i, st := range f.Steps {
		label := fmt.Sprintf("step %d (%s %s) %s", i+1, st.Request.Method, st.Request.Path, st.Name)
		var body any
		switch {
		case st.Request.Raw != nil:
			body = subst(*st.Request.Raw)
		case len(st.Request.Body) > 0:
			body = subst(string(st.Request.Body))
		}
		var headers []string
		for k, v := range st.Request.Headers {
			headers = append(headers, k+": "+subst(v))
		}
		token := env.SCIMToken
		switch st.Request.Token {
		case "", "scim":
		case "none":
			token = ""
		default:
			token = st.Request.Token
		}
		res := env.Do(token, st.Request.Method, subst(st.Request.Path), body, headers...)
		if res.Status != st.Response.Status {
			t.Fatalf("%s: status = %d, want %d\nbody: %s", label, res.Status, st.Response.Status, res.Body)
		}
		for k, want := range st.Response.Headers {
			if got := res.Header.Get(k); !matchString(got, subst(want)) {
				t.Errorf("%s: header %s = %q, want %q", label, k, got, subst(want))
			}
		}
		if len(st.Response.Body) == 0 && len(st.Response.Capture) == 0 {
			continue
		}
		var got any
		if err := json.Unmarshal(res.Body, &got); err != nil {
			t.Fatalf("%s: body is not JSON: %v\n%s", label, err, res.Body)
		}
		if len(st.Response.Body) > 0 {
			var want any
			if err := json.Unmarshal([]byte(subst(string(st.Response.Body))), &want); err != nil {
				t.Fatalf("%s: bad expected body: %v", label, err)
			}
			if diff := subset("body", want, got); diff != "" {
				t.Fatalf("%s: %s\nbody: %s", label, diff, res.Body)
			}
		}
		for name, path := range st.Response.Capture {
			v, ok := lookup(got, path)
			if !ok {
				t.Fatalf("%s: capture %s: no %s in body %s", label, name, path, res.Body)
			}
			vars[name] = fmt.Sprint(v)
		}
	}
}

// matchString compares a header with its expected value, in which {{any}}
// stands for one or more characters.
func matchString(got, want string) bool {
	re := strings.ReplaceAll(regexp.QuoteMeta(want), regexp.QuoteMeta("{{any}}"), ".+")
	return regexp.MustCompile("^" + re + "$").MatchString(got)
}

// subset reports how want is not a subset of got ("" when it is).
func subset(path string, want, got any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s = %v, want an object", path, got)
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, present := g[k]
			if w[k] == "{{absent}}" {
				if present {
					return fmt.Sprintf("%s.%s = %v, want it absent", path, k, gv)
				}
				continue
			}
			if !present {
				return fmt.Sprintf("%s.%s is missing, want %v", path, k, w[k])
			}
			if d := subset(path+"."+k, w[k], gv); d != "" {
				return d
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s = %v, want %d elements like %v", path, got, len(w), want)
		}
		for i := range w {
			if d := subset(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); d != "" {
				return d
			}
		}
		return ""
	case string:
		if w == "{{any}}" {
			return ""
		}
	}
	// Scalars compare with their JSON type: "401" is not 401, "false" is
	// not false.
	if !reflect.DeepEqual(want, got) {
		return fmt.Sprintf("%s = %#v, want %#v", path, got, want)
	}
	return ""
}

// lookup follows a dotted path ("id", "Resources.0.id") into v.
func lookup(v any, path string) (any, bool) {
	for _, part := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[part]; !ok {
				return nil, false
			}
		case []any:
			var i int
			if _, err := fmt.Sscan(part, &i); err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}
