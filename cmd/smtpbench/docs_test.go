package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsLinksResolve follows every relative link of the README and of the
// files under docs/: the file must exist and, for a link with a #fragment
// into a Markdown file, a heading of that file must give that anchor. A
// moved or renamed section then fails here instead of in a reader's hands.
func TestDocsLinksResolve(t *testing.T) {
	root := filepath.Join("..", "..")
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, filepath.Join(root, "README.md"))
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	checked := 0
	for _, page := range pages {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		text := stripCode(string(b))
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, frag, _ := strings.Cut(target, "#")
			dest := page
			if file != "" {
				dest = filepath.Join(filepath.Dir(page), file)
			}
			rel, _ := filepath.Rel(root, page)
			if _, err := os.Stat(dest); err != nil {
				t.Errorf("%s: link %q: %v", rel, target, err)
				continue
			}
			checked++
			if frag != "" && strings.HasSuffix(dest, ".md") && !anchors(t, dest)[frag] {
				t.Errorf("%s: link %q: no heading gives #%s", rel, target, frag)
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d links checked: the pattern no longer finds them", checked)
	}
}

var fence = regexp.MustCompile("(?s)```.*?```")

// stripCode drops fenced code blocks, whose brackets are not links.
func stripCode(s string) string { return fence.ReplaceAllString(s, "") }

// anchors are the fragments the headings of a Markdown file give, as
// GitHub makes them: lower case, punctuation dropped, spaces as hyphens,
// repeats numbered.
func anchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	seen := map[string]int{}
	for _, line := range strings.Split(stripCode(string(b)), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var a strings.Builder
		for _, r := range strings.ToLower(h) {
			switch {
			case r == ' ':
				a.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
				a.WriteRune(r)
			}
		}
		s := a.String()
		if n := seen[s]; n > 0 {
			out[s+"-"+string(rune('0'+n))] = true
		}
		seen[s]++
		out[s] = true
	}
	return out
}
