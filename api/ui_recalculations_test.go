package api

import (
	"testing"

	"github.com/scimflow/scimflow/internal/scimflow"
)

func TestTemporalURL(t *testing.T) {
	rec := &scimflow.Recalculation{WorkflowID: "recalc-group/org-1/g-1"}
	for _, tt := range []struct {
		ui, ns string
		rec    *scimflow.Recalculation
		want   string
	}{
		{"http://127.0.0.1:8233", "", rec, `http://127.0.0.1:8233/namespaces/default/workflows?query=WorkflowId%3D%22recalc-group%2Forg-1%2Fg-1%22`},
		{"https://temporal.example.com/ui/", "prod", rec, `https://temporal.example.com/ui/namespaces/prod/workflows?query=WorkflowId%3D%22recalc-group%2Forg-1%2Fg-1%22`},
		{"", "", rec, ""},
		{"http://127.0.0.1:8233", "", &scimflow.Recalculation{}, ""}, // not started yet
		{"javascript:alert(1)", "", rec, ""},
	} {
		s := &Server{TemporalUIURL: tt.ui, TemporalNamespace: tt.ns}
		if got := s.temporalURL(tt.rec); got != tt.want {
			t.Errorf("temporalURL(%q, %q) = %q, want %q", tt.ui, tt.ns, got, tt.want)
		}
	}
}

func TestPlural(t *testing.T) {
	for _, tt := range []struct {
		n     any
		noun  string
		forms []string
		want  string
	}{
		{0, "mapping", nil, "0 mappings"},
		{1, "mapping", nil, "1 mapping"},
		{2, "mapping", nil, "2 mappings"},
		{int64(1), "user loses", []string{"users lose"}, "1 user loses"},
		{int64(3), "user loses", []string{"users lose"}, "3 users lose"},
	} {
		if got := plural(tt.n, tt.noun, tt.forms...); got != tt.want {
			t.Errorf("plural(%v, %q) = %q, want %q", tt.n, tt.noun, got, tt.want)
		}
	}
}
