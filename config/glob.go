package config

import (
	"path"
	"strings"
)

// MatchAnyGlob reports whether the slash-separated path name matches one of
// the globs (see MatchGlob).
func MatchAnyGlob(globs []string, name string) bool {
	for _, g := range globs {
		if MatchGlob(g, name) {
			return true
		}
	}
	return false
}

// MatchGlob matches a slash-separated path against a glob in which `**` as a
// whole segment matches zero or more directories and every other segment
// follows path.Match (`*`, `?`, `[...]` within one segment). So `**/*.tf`
// matches `main.tf` and `envs/prod/main.tf`. A malformed segment matches
// nothing (the repository configuration validates its globs beforehand).
func MatchGlob(glob, name string) bool {
	return matchSegments(strings.Split(glob, "/"), strings.Split(name, "/"))
}

func matchSegments(glob, name []string) bool {
	for len(glob) > 0 {
		if glob[0] == "**" {
			// Collapse runs of ** and try every split of the remaining path.
			for len(glob) > 0 && glob[0] == "**" {
				glob = glob[1:]
			}
			if len(glob) == 0 {
				return true
			}
			for i := range len(name) + 1 {
				if matchSegments(glob, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, err := path.Match(glob[0], name[0]); err != nil || !ok {
			return false
		}
		glob, name = glob[1:], name[1:]
	}
	return len(name) == 0
}
