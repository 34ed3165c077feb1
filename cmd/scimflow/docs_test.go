package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestConfigurationReferenceIsComplete: every environment variable this
// command names in its code is in docs/configuration.md.
func TestConfigurationReferenceIsComplete(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`"((?:SCIMFLOW|TEMPORAL|OTEL)_[A-Z_]+|DATABASE_URL)"`)
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range name.FindAllStringSubmatch(string(src), -1) {
			seen[m[1]] = true
		}
	}
	if len(seen) < 10 {
		t.Fatalf("found only %d variables in the code: the pattern is wrong", len(seen))
	}
	for v := range seen {
		if !strings.Contains(string(doc), "`"+v+"`") {
			t.Errorf("%s is read by the code but not in docs/configuration.md", v)
		}
	}
}
