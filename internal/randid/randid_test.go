package randid

import (
	"regexp"
	"testing"
)

func TestNew(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{20}$`)
	seen := make(map[string]bool)
	for range 1000 {
		id := New()
		if !valid.MatchString(id) {
			t.Fatalf("id %q is not 20 URL-safe characters", id)
		}
		if seen[id] {
			t.Fatalf("id %q repeated", id)
		}
		seen[id] = true
	}
}
