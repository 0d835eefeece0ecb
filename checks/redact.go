package checks

import "github.com/infra-agent/infra-agent/checks/redact"

// Redact replaces secret-looking substrings of s with "(redacted)" (see
// package redact for what counts as one). Every text infra-agent posts or
// logs passes through it, beyond what terraform marks sensitive.
func Redact(s string) string { return redact.String(s) }

// secretName reports whether an attribute name says its value is a secret.
func secretName(name string) bool { return redact.Name(name) }
