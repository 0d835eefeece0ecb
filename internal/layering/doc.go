// Package layering holds the test that keeps the server and the runner apart:
// the runner imports the wire contract and never the server's packages; the
// server never imports terraform, conftest, OPA or model code.
package layering
