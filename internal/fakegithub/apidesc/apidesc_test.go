package apidesc

import (
	"maps"
	"testing"
)

func TestMatch(t *testing.T) {
	api, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(api.All) < 1000 {
		t.Fatalf("only %d operations loaded", len(api.All))
	}
	tests := []struct {
		method, path string
		wantTemplate string // empty: no operation
		wantParams   map[string]string
		wantPath     bool // some method exists for the path
	}{
		{"GET", "/repos/o/r/contents/envs/prod/main.tf", "/repos/{owner}/{repo}/contents/{path}",
			map[string]string{"owner": "o", "repo": "r", "path": "envs/prod/main.tf"}, true},
		{"GET", "/repos/o/r/contents/envs%2Fprod.tf", "/repos/{owner}/{repo}/contents/{path}",
			map[string]string{"owner": "o", "repo": "r", "path": "envs/prod.tf"}, true},
		{"GET", "/repos/o/r/contents/", "/repos/{owner}/{repo}/contents/{path}",
			map[string]string{"owner": "o", "repo": "r", "path": ""}, true},
		{"GET", "/repos/o/r/commits/feature/x/check-runs", "/repos/{owner}/{repo}/commits/{ref}/check-runs",
			map[string]string{"owner": "o", "repo": "r", "ref": "feature/x"}, true},
		{"GET", "/repos/o/r/commits/feature%2Fx/check-runs", "/repos/{owner}/{repo}/commits/{ref}/check-runs",
			map[string]string{"owner": "o", "repo": "r", "ref": "feature/x"}, true},
		{"GET", "/repos/o/r/commits/feature/x", "/repos/{owner}/{repo}/commits/{ref}",
			map[string]string{"owner": "o", "repo": "r", "ref": "feature/x"}, true},
		{"GET", "/repos/o/r/git/ref/heads/main", "/repos/{owner}/{repo}/git/ref/{ref}",
			map[string]string{"owner": "o", "repo": "r", "ref": "heads/main"}, true},
		{"GET", "/repos/o/r/pulls/comments", "/repos/{owner}/{repo}/pulls/comments",
			map[string]string{"owner": "o", "repo": "r"}, true},
		{"GET", "/repos/o/r/pulls/7", "/repos/{owner}/{repo}/pulls/{pull_number}",
			map[string]string{"owner": "o", "repo": "r", "pull_number": "7"}, true},
		{"GET", "/repos/o%2Fx/r", "/repos/{owner}/{repo}", map[string]string{"owner": "o/x", "repo": "r"}, true},
		{"POST", "/repos/o/r/merge-everything", "", nil, false},
		{"DELETE", "/repos/o/r/check-runs/1", "", nil, true},
		{"GET", "/repos//r", "", nil, false},
		{"GET", "/repos/o/r/", "", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			m, found, pathExists := api.Match(tt.method, tt.path)
			if pathExists != tt.wantPath {
				t.Errorf("pathExists = %v, want %v", pathExists, tt.wantPath)
			}
			if tt.wantTemplate == "" {
				if found {
					t.Errorf("matched %s, want no operation", m.Template.Path)
				}
				return
			}
			if !found || m.Template.Path != tt.wantTemplate || !maps.Equal(m.Params, tt.wantParams) {
				t.Errorf("matched %v %q %v, want %q %v", found, m.Template.Path, m.Params, tt.wantTemplate, tt.wantParams)
			}
		})
	}
}

func TestImplementedOperationsExistInGitHub(t *testing.T) {
	api, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]bool{}
	for _, op := range api.All {
		all[op.Key()] = true
	}
	for _, op := range api.Implemented {
		if !all[op.Key()] {
			t.Errorf("%s is implemented but GitHub has no such operation", op.Key())
		}
		if _, err := api.Operation(op.Method, op.Path); err != nil {
			t.Error(err)
		}
	}
}

// BenchmarkLoad measures what every fake server pays to load the embedded description.
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := Load(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	api, err := Load()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, found, _ := api.Match("GET", "/repos/o/r/commits/feature/x/check-runs"); !found {
			b.Fatal("no match")
		}
	}
}
