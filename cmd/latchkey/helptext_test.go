package main

import (
	"regexp"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// aBeforeVowel finds "a" before a word said with a vowel sound: "a account".
// Words starting with a vowel letter but said with a consonant (user, URL,
// one) are left out.
var aBeforeVowel = regexp.MustCompile(`\b[Aa] ([aeioAEIO]\w*|u(n[^i]|p|s[^e])\w*)`)

// TestHelpArticles: no command's help says "a organization" or "a account".
func TestHelpArticles(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, text := range []string{c.Short, c.Long} {
			if m := aBeforeVowel.FindString(text); m != "" {
				t.Errorf("%s: %q in %q", c.CommandPath(), m, text)
			}
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if m := aBeforeVowel.FindString(f.Usage); m != "" {
				t.Errorf("%s --%s: %q in %q", c.CommandPath(), f.Name, m, f.Usage)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	root := newRootCmd()
	walk(root)
	// The regexp must catch what it is for, or the walk proves nothing.
	for _, bad := range []string{"Show a organization", "Delete a account", "a admin", "an undo is a unknown"} {
		if !aBeforeVowel.MatchString(bad) {
			t.Fatalf("the check misses %q", bad)
		}
	}
	if sc, _, err := root.Find([]string{"organization", "show"}); err != nil || sc.Short != "Show an organization" {
		t.Fatalf("organization show: %q %v", sc.Short, err)
	}
}
