package redact

import (
	"strings"
	"sync"

	ahocorasick "github.com/BobuSumisu/aho-corasick"
	"github.com/zricethezav/gitleaks/v8/detect"
)

// scanner finds secrets with gitleaks' rule set, the maintained reference of
// the field (cloud, SaaS and package-registry tokens, connection strings,
// private keys; each rule with its keywords, entropy threshold and allow
// list). infra-agent's own patterns (rules.go) cover what it lacks.
type scanner struct {
	detector *detect.Detector
	// keywords finds the rules' keywords in lower-cased text: gitleaks runs a
	// rule only when one of its keywords is there, so text without any needs
	// no scan at all (most text: the scan of one string costs tens of
	// microseconds, the keyword search well under one).
	keywords *ahocorasick.Trie
	// always is set when a rule has a pattern and no keywords: then every
	// text is scanned.
	always bool
}

// defaultScanner builds the scanner once, on first use: compiling gitleaks'
// two hundred rules takes about half a second. Built, it is only read, and
// safe for concurrent use. A rule set that does not load is a programming
// error (it is compiled into the binary), so it panics rather than let text
// through unscanned.
var defaultScanner = sync.OnceValue(newScanner)

func newScanner() *scanner {
	d, err := detect.NewDetectorDefaultConfig()
	if err != nil {
		panic("redact: loading gitleaks' rules: " + err.Error())
	}
	s := &scanner{detector: d}
	var words []string
	for _, r := range d.Config.Rules {
		if len(r.Keywords) == 0 && r.Regex != nil {
			s.always = true
		}
		for _, k := range r.Keywords {
			words = append(words, strings.ToLower(k))
		}
	}
	s.keywords = ahocorasick.NewTrieBuilder().AddStrings(words).Build()
	return s
}

// redact replaces what gitleaks' rules find in s with Marker.
func (sc *scanner) redact(s string) string {
	if !sc.always && sc.keywords.MatchFirstString(strings.ToLower(s)) == nil {
		return s
	}
	findings := sc.detector.DetectString(s)
	if len(findings) == 0 {
		return s
	}
	pairs := make([]string, 0, 2*len(findings))
	for _, f := range findings {
		secret := f.Secret
		if secret == "" {
			secret = f.Match
		}
		if secret != "" {
			pairs = append(pairs, secret, Marker)
		}
	}
	return strings.NewReplacer(pairs...).Replace(s)
}
