package policy

import (
	"strings"
)

// Block kinds the locator knows how to point at.
const (
	kindResource = "resource"
	kindData     = "data"
	kindModule   = "module"
	kindProvider = "provider"
	kindVariable = "variable"
)

// address is a Terraform address with its instance keys dropped:
// module.net["a"].aws_s3_bucket.logs[0] → modules [net], resource aws_s3_bucket.logs.
type address struct {
	Modules []string
	Kind    string
	Type    string // resource and data types; empty for the other kinds
	Name    string
}

// String renders the configuration address (no instance keys).
func (a address) String() string {
	var b strings.Builder
	for _, m := range a.Modules {
		b.WriteString("module.")
		b.WriteString(m)
		b.WriteByte('.')
	}
	switch a.Kind {
	case kindResource:
		b.WriteString(a.Type + "." + a.Name)
	case kindData:
		b.WriteString("data." + a.Type + "." + a.Name)
	case kindModule:
		b.WriteString("module." + a.Name)
	case kindVariable:
		b.WriteString("var." + a.Name)
	case kindProvider:
		b.WriteString("provider." + a.Name)
	}
	return b.String()
}

// reservedType reports whether a word cannot be a resource type.
func reservedType(s string) bool {
	return s == "data" || s == "module" || s == "var" || s == "provider"
}

// parseAddress parses a resource, data source, module, variable or provider
// address as Terraform writes it in plans and messages. ok is false for
// anything else.
func parseAddress(s string) (a address, ok bool) {
	steps, ok := splitAddress(strings.TrimSpace(s))
	if !ok || len(steps) == 0 {
		return address{}, false
	}
	for len(steps) >= 2 && steps[0] == "module" {
		a.Modules = append(a.Modules, steps[1])
		steps = steps[2:]
	}
	switch {
	case len(steps) == 0 && len(a.Modules) > 0:
		a.Kind = kindModule
		a.Name = a.Modules[len(a.Modules)-1]
		a.Modules = a.Modules[:len(a.Modules)-1]
	case len(steps) == 3 && steps[0] == "data":
		a.Kind, a.Type, a.Name = kindData, steps[1], steps[2]
	case len(steps) == 2 && steps[0] == "var" && len(a.Modules) == 0:
		a.Kind, a.Name = kindVariable, steps[1]
	case len(steps) == 2 && steps[0] == "provider" && len(a.Modules) == 0:
		a.Kind, a.Name = kindProvider, steps[1]
	case len(steps) == 2 && !reservedType(steps[0]):
		a.Kind, a.Type, a.Name = kindResource, steps[0], steps[1]
	default:
		return address{}, false
	}
	return a, true
}

// splitAddress splits an address into its dot-separated names, skipping
// instance keys ([0], ["a.b"]) which may themselves contain dots.
func splitAddress(s string) ([]string, bool) {
	var steps []string
	for i := 0; i < len(s); {
		start := i
		for i < len(s) && isIdentByte(s[i]) {
			i++
		}
		if i == start {
			return nil, false
		}
		steps = append(steps, s[start:i])
		if i < len(s) && s[i] == '[' {
			end, ok := skipKey(s, i)
			if !ok {
				return nil, false
			}
			i = end
		}
		if i == len(s) {
			break
		}
		if s[i] != '.' || i == len(s)-1 {
			return nil, false
		}
		i++
	}
	return steps, true
}

// skipKey returns the index just past the instance key that opens at s[i].
func skipKey(s string, i int) (int, bool) {
	inString := false
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case inString && c == '\\':
			j++
		case c == '"':
			inString = !inString
		case !inString && c == ']':
			return j + 1, true
		}
	}
	return 0, false
}

// isIdentByte reports whether c can appear in a Terraform identifier.
func isIdentByte(c byte) bool {
	return c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
