package checks

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/infra-agent/infra-agent/internal/testkit"
)

// update rewrites golden files: go test ./checks/ -update. Shared by every
// golden test of the package.
var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// jobGolden compares got with testdata/<name>.golden, rewriting it under -update.
func jobGolden(t *testing.T, name, got string) {
	t.Helper()
	testkit.Golden(t, filepath.Join("testdata", name+".golden"), got, *update)
}
