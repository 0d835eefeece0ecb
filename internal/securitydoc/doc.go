// Package securitydoc holds the test that keeps SECURITY.md honest: every test
// it names as holding a control exists.
package securitydoc
