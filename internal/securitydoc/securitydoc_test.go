package securitydoc

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// testRef is how SECURITY.md names a test: `package.TestName` or
// `package.TestName/Subtest`, package being the directory under the root.
var testRef = regexp.MustCompile("`([a-z][a-z0-9/-]*)\\.(Test[A-Za-z0-9_]+|Fuzz[A-Za-z0-9_]+)(?:/([A-Za-z0-9_]+))?`")

func TestSecurityNamesExistingTests(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "SECURITY.md"))
	if err != nil {
		t.Fatal(err)
	}
	refs := testRef.FindAllStringSubmatch(string(doc), -1)
	if len(refs) < 40 {
		t.Fatalf("SECURITY.md names %d tests; the pattern no longer reads it", len(refs))
	}
	for _, ref := range refs {
		pkg, name, sub := ref[1], ref[2], ref[3]
		src := sources(t, filepath.Join(root, filepath.FromSlash(pkg)))
		if !strings.Contains(src, "func "+name+"(") {
			t.Errorf("%s: package %s has no %s", ref[0], pkg, name)
		}
		if sub != "" && !strings.Contains(src, `"`+sub+`"`) {
			t.Errorf("%s: package %s has no subtest %s", ref[0], pkg, sub)
		}
	}
}

// sources is the text of the Go files of dir and the directories below it
// (subtests of a shared suite live in a sub-package).
func sources(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			b.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	return b.String()
}
