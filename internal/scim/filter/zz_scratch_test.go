package filter

import (
	"strings"
	"testing"
	"time"
)

func TestScratchSlow(t *testing.T) {
	for n := 4; n <= 32; n += 4 {
		for name, s := range map[string]string{
			"open":     strings.Repeat("(", n) + "a pr",
			"balanced": strings.Repeat("(", n) + "a pr" + strings.Repeat(")", n),
			"not":      strings.Repeat("not (", n) + "a pr",
			"notok":    strings.Repeat("not (", n) + "a pr" + strings.Repeat(")", n),
			"err":      strings.Repeat("(", n) + "a pr" + strings.Repeat(")", n) + " x",
			"errin":    strings.Repeat("(", n) + "a xx" + strings.Repeat(")", n),
			"and":      strings.Repeat("(a pr and ", n) + "a pr",
		} {
			start := time.Now()
			Parse(s)
			if d := time.Since(start); d > 10*time.Millisecond {
				t.Logf("%s n=%d: %v", name, n, d)
			}
		}
	}
}
