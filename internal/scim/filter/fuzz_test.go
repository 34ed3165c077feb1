package filter

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// FuzzParse checks that Parse never panics, that every error is a
// client-ready invalidFilter error with a position, and that Format writes
// a filter that parses back to the same tree.
func FuzzParse(f *testing.F) {
	for _, tt := range rfcFilters {
		f.Add(tt.in)
	}
	for _, tt := range parseTests {
		f.Add(tt.in)
	}
	for _, tt := range parseErrorTests {
		if len(tt.in) < 200 {
			f.Add(tt.in)
		}
	}
	for _, tt := range matchTests {
		f.Add(tt.filter)
	}
	// Long inputs: a 4 KB attribute name, and the longest chain of short
	// comparisons (each took some 25ms with the library once used here).
	f.Add("a" + strings.Repeat("D", maxLen-4) + " pr")
	f.Add(strings.Repeat("a pr and ", maxLen/9-1) + "a pr")
	obj := decode(f, testUser, false)
	f.Fuzz(func(t *testing.T, s string) {
		// The parser reads each token once, so a 4 KB filter takes under
		// a millisecond; anything near a second is a blow-up worth a
		// crasher file. The fuzzer only records inputs that crash the
		// worker, hence the panic.
		slow := time.AfterFunc(2*time.Second, func() { panic(fmt.Sprintf("Parse(%q) takes over 2s", s)) })
		defer slow.Stop()
		e, err := Parse(s)
		if err != nil {
			checkError(t, "Parse", s, err, scimflow.SCIMInvalidFilter)
			return
		}
		out := Format(e)
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(%q) = %s, which does not parse: %v", s, out, err)
		}
		if diff := cmp.Diff(e, again); diff != "" {
			t.Fatalf("Parse(%q) then Parse(Format) = Parse(%q) mismatch (-first +second):\n%s", s, out, diff)
		}
		Match(e, obj, func(AttrPath) bool { return len(s)%2 == 0 })
	})
}

// FuzzParsePath is FuzzParse for PATCH paths.
func FuzzParsePath(f *testing.F) {
	for _, tt := range parsePathTests {
		f.Add(tt.in)
	}
	for _, tt := range parsePathErrorTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			checkError(t, "ParsePath", s, err, scimflow.SCIMInvalidPath)
			return
		}
		out := p.String()
		again, err := ParsePath(out)
		if err != nil {
			t.Fatalf("ParsePath(%q) = %s, which does not parse: %v", s, out, err)
		}
		if diff := cmp.Diff(p, again); diff != "" {
			t.Fatalf("ParsePath(%q) then ParsePath(%q) mismatch (-first +second):\n%s", s, out, diff)
		}
	})
}

// checkError fails unless err is a *scimflow.Error of scimType whose
// message says where the problem is: at a position, at the end of the
// input, or about the input as a whole (empty, too long, not UTF-8).
func checkError(t *testing.T, fn, s string, err error, scimType string) {
	t.Helper()
	var e *scimflow.Error
	if !errors.As(err, &e) || e.SCIMType != scimType {
		t.Fatalf("%s(%q) error = %#v, want a *scimflow.Error with SCIMType %s", fn, s, err, scimType)
	}
	switch m := e.Message; {
	case strings.Contains(m, " at position "), strings.HasSuffix(m, "end of input"),
		strings.HasSuffix(m, ": empty"), strings.HasSuffix(m, ": not valid UTF-8"), strings.Contains(m, "longer than"):
	default:
		t.Fatalf("%s(%q) error = %q, want a message with a position", fn, s, m)
	}
}
