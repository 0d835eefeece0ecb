package checks

import (
	"fmt"
	"strings"
)

// ReplyMarker is the hidden line that identifies a comment the server posted
// for key: a retried step looks for it before posting the comment again.
// Keys are the server's own (trigger keys, job ids): no user text.
func ReplyMarker(key string) string {
	return "<!-- infra-agent:reply " + strings.ReplaceAll(key, "--", "- -") + " -->"
}

// Marked appends marker to a comment body, truncating the body so that the
// comment stays within GitHub's limit.
func Marked(body, marker string) string {
	return truncate(body, maxComment-len(marker)-1) + "\n" + marker
}

// ConfigEditNote is the note posted once on a pull request that edits the
// repository configuration: it is read from the default branch only.
func ConfigEditNote(path, defaultBranch string) string {
	return fmt.Sprintf("**infra-agent:** this pull request edits %s. infra-agent reads its configuration from the default branch %s only, "+
		"so these changes take effect once they are merged there; until then every trigger, on this pull request too, uses the configuration on %s.\n",
		inlineCode(path), inlineCode(defaultBranch), inlineCode(defaultBranch))
}
