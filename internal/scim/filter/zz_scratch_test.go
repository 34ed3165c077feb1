package filter

import (
	"strings"
	"testing"
	"time"
)

func TestScratchSlow(t *testing.T) {
	for _, n := range []int{250, 500, 1000, 2000, 4000} {
		for name, s := range map[string]string{
			"word":   "a" + strings.Repeat("D", n),
			"wordpr": "a" + strings.Repeat("D", n) + " pr",
			"str":    `a eq "` + strings.Repeat("D", n) + `"`,
			"and":    strings.Repeat("a pr and ", n/9) + "a pr",
			"andx":   strings.Repeat("a pr and ", n/9) + "a",
			"sub":    "a." + strings.Repeat("D", n),
			"uri":    "a:" + strings.Repeat("D", n) + ":b pr",
		} {
			start := time.Now()
			Parse(s)
			t.Logf("%s n=%d: %v", name, n, time.Since(start))
		}
	}
}
