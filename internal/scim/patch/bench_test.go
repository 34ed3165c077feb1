package patch

import (
	"fmt"
	"testing"

	"github.com/scimflow/scimflow/internal/scim/schema"
)

// BenchmarkApplyAddMembers adds n new members to a group of n members and
// removes n listed ones: the cost per value should not grow with n.
func BenchmarkApplyAddMembers(b *testing.B) {
	for _, n := range []int{500, 1000, 2000, 4000} {
		members := make([]any, n)
		add, del := make([]any, n), make([]any, n)
		for i := range n {
			members[i] = map[string]any{"value": fmt.Sprintf("old-%d", i), "type": "User"}
			add[i] = map[string]any{"value": fmt.Sprintf("new-%d", i)}
			del[i] = map[string]any{"value": fmt.Sprintf("OLD-%d", i)}
		}
		doc := map[string]any{"id": "g1", "displayName": "G", "members": members}
		ops := []Operation{
			{Op: OpAdd, Path: mustPath(b, "members"), Value: add, HasValue: true},
			{Op: OpRemove, Path: mustPath(b, "members"), Value: del, HasValue: true},
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := Apply(doc, ops, schema.GroupResourceType); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/value")
		})
	}
}
