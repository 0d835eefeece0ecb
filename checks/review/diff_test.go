package review

import (
	"strings"
	"testing"
)

// A patch as GitHub's pull request files list gives it: two hunks, an empty
// context line, a deletion, and the "no newline" marker.
const twoHunks = `@@ -1,4 +1,5 @@
 resource "aws_s3_bucket" "data" {
-  bucket = "data"
+  bucket = "data-prod"
+  acl    = "public-read"
 
 }
@@ -20,3 +21,4 @@ resource "aws_s3_bucket" "logs" {
   tags = {
     team = "platform"
+    env  = "prod"
   }
\ No newline at end of file`

func TestDiffLines(t *testing.T) {
	d, err := NewDiff([]File{
		{Path: "main.tf", Status: "modified", Patch: twoHunks},
		{Path: "gone.tf", Status: "removed", Patch: "@@ -1,2 +0,0 @@\n-a\n-b"},
		{Path: "big.tf", Status: "modified"}, // too large: GitHub sends no patch
		{Path: "new.tf", Status: "added", Patch: "@@ -0,0 +1,2 @@\n+a\n+b"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path       string
		start, end int
		want       bool
	}{
		{"main.tf", 1, 1, true},
		{"main.tf", 3, 3, true},   // an added line
		{"main.tf", 5, 5, true},   // the last context line of the first hunk
		{"main.tf", 6, 6, false},  // between the hunks
		{"main.tf", 21, 24, true}, // the whole second hunk
		{"main.tf", 25, 25, false},
		{"main.tf", 4, 21, false}, // two hunks: GitHub wants one
		{"main.tf", 3, 2, false},
		{"main.tf", 0, 0, false},
		{"gone.tf", 1, 1, false},
		{"big.tf", 1, 1, false},
		{"new.tf", 2, 2, true},
		{"other.tf", 1, 1, false},
	} {
		if got := d.Range(c.path, c.start, c.end); got != c.want {
			t.Errorf("Range(%s, %d, %d) = %v, want %v", c.path, c.start, c.end, got, c.want)
		}
	}
	if n := d.Lines(); n != 5+4+2 {
		t.Errorf("Lines() = %d, want 11", n)
	}
}

func TestDiffRefusesWhatIsNotAPatch(t *testing.T) {
	for name, patch := range map[string]string{
		"no header":        "+a\n+b",
		"counts disagree":  "@@ -1,2 +1,3 @@\n a\n+b",
		"garbage header":   "@@ -x +y @@\n a",
		"trailing garbage": "@@ -1 +1 @@\n a\n@@ nonsense",
	} {
		if _, err := NewDiff([]File{{Path: "main.tf", Status: "modified", Patch: patch}}); err == nil ||
			!strings.Contains(err.Error(), "main.tf") {
			t.Errorf("%s: err = %v, want an error naming the file", name, err)
		}
	}
}

func TestDiffSummary(t *testing.T) {
	d, err := NewDiff([]File{
		{Path: "main.tf", Status: "modified", Patch: twoHunks},
		{Path: "a.tf", Status: "added", Patch: "@@ -0,0 +1 @@\n+a"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Summary(), "a.tf: lines 1\nmain.tf: lines 1-5, 21-24\n"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
}
