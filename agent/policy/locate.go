package policy

import (
	"strings"
)

// How strongly a message mentions a block or a resource instance, weakest
// first. A finding is attributed to the strongest, earliest mention; ties
// between different blocks leave it unattributed rather than guessed.
const (
	levelNone     = iota
	levelName     // the name alone, as a word: "ALB `web` uses HTTP"
	levelTypeName // the type (or the block keyword) and the name as words: `"aws_s3_bucket" named "logs"`
	levelShort    // TYPE.NAME of a resource that lives in a module
	levelConfig   // the configuration address: aws_s3_bucket.logs, module.net.aws_s3_bucket.logs, var.region
	levelInstance // the instance address: module.net.aws_s3_bucket.logs[0]
)

// form is a text that, found in a message as an address, mentions a
// candidate at a level.
type form struct {
	text  string
	level int
}

// candidate is something a message may be about: a block of an HCL file, or
// a resource instance of a plan.
type candidate struct {
	forms []form
	// typ and name are matched as separate words; typ is the block keyword
	// ("module", "variable", "provider") for blocks that have no type.
	typ, name string
	// nameOnly allows a match on the name alone (resources and data sources:
	// policies often print just the name).
	nameOnly bool
}

// blockCandidate describes how messages mention a configuration block.
func blockCandidate(b block) candidate {
	switch b.Kind {
	case kindResource:
		return candidate{forms: []form{{b.Type + "." + b.Name, levelConfig}}, typ: b.Type, name: b.Name, nameOnly: true}
	case kindData:
		return candidate{
			forms:    []form{{"data." + b.Type + "." + b.Name, levelConfig}, {b.Type + "." + b.Name, levelShort}},
			typ:      b.Type,
			name:     b.Name,
			nameOnly: true,
		}
	default:
		return candidate{forms: []form{{b.Address(), levelConfig}}, typ: b.Kind, name: b.Name}
	}
}

// strength returns how strongly msg mentions c, and where.
func strength(msg string, c candidate) (level, pos int) {
	level, pos = levelNone, -1
	for _, f := range c.forms {
		if f.level <= level {
			continue
		}
		if i := findWord(msg, f.text, true); i >= 0 {
			level, pos = f.level, i
		}
	}
	if level > levelNone {
		return level, pos
	}
	i := findWord(msg, c.name, false)
	if i < 0 {
		return levelNone, -1
	}
	if c.typ != "" && findWord(msg, c.typ, false) >= 0 {
		return levelTypeName, i
	}
	if c.typ == "variable" && findWord(msg, "var", false) >= 0 {
		return levelTypeName, i
	}
	if c.nameOnly {
		return levelName, i
	}
	return levelNone, -1
}

// strongest returns the indexes of the candidates msg mentions most strongly
// and, among those, earliest.
func strongest(msg string, cands []candidate) []int {
	best, bestPos := levelNone, 0
	var idx []int
	for i, c := range cands {
		level, pos := strength(msg, c)
		switch {
		case level == levelNone:
		case level > best || level == best && pos < bestPos:
			best, bestPos, idx = level, pos, append(idx[:0], i)
		case level == best && pos == bestPos:
			idx = append(idx, i)
		}
	}
	return idx
}

// findWord returns the index of the first occurrence of word in msg that is
// not part of a longer identifier, or -1. An address (asAddress) must not
// continue a longer address on its left either, so aws_s3_bucket.logs does not
// match inside module.net.aws_s3_bucket.logs.
func findWord(msg, word string, asAddress bool) int {
	if word == "" {
		return -1
	}
	for off := 0; off < len(msg); {
		i := strings.Index(msg[off:], word)
		if i < 0 {
			return -1
		}
		i += off
		j := i + len(word)
		left := i == 0 || !isIdentByte(msg[i-1]) && (!asAddress || msg[i-1] != '.')
		right := j == len(msg) || !isIdentByte(msg[j])
		if left && right {
			return i
		}
		off = i + 1
	}
	return -1
}
