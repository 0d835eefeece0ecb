package review

import (
	"strings"

	"github.com/infra-agent/infra-agent/checks"
)

// Risk is what a reviewer should look at first in the plans: what is
// destroyed, what is replaced, identity and access changes, and network
// exposure changes.
type Risk struct {
	// Planned is false when no root was planned (a fork's static review, a
	// plan that failed): the lists below then say nothing.
	Planned  bool
	Deletes  []string
	Replaces []string
	IAM      []string
	// Network lists network changes, each with what makes it exposed
	// ("ingress open to 0.0.0.0/0") when it is.
	Network []NetworkChange
}

// NetworkChange is one change of a network resource.
type NetworkChange struct {
	Address, Action string
	// Exposure says how the change opens something to the internet; "" when
	// it does not seem to.
	Exposure string
}

// Empty reports whether the plans show nothing risky.
func (r Risk) Empty() bool {
	return len(r.Deletes)+len(r.Replaces)+len(r.IAM)+len(r.Network) == 0
}

// RiskOf reads the risk from the report's plans. iam says which resource
// types manage identity and access.
func RiskOf(rep checks.Report, iam func(resourceType string) bool) Risk {
	var r Risk
	for _, root := range rep.Roots {
		if root.Plan == nil {
			continue
		}
		r.Planned = true
		for _, c := range root.Plan.Changes {
			if c.Action == checks.ActionNoOp || c.Action == checks.ActionRead {
				continue
			}
			addr := c.Address
			if len(rep.Roots) > 1 {
				addr = root.Dir + ": " + addr
			}
			switch c.Action {
			case checks.ActionDelete:
				r.Deletes = append(r.Deletes, addr)
			case checks.ActionReplace:
				r.Replaces = append(r.Replaces, addr)
			}
			t := resourceType(c.Address)
			if iam != nil && iam(t) {
				r.IAM = append(r.IAM, addr+" ("+string(c.Action)+")")
			}
			exposure := exposed(c)
			if exposure != "" || networkType(t) {
				r.Network = append(r.Network, NetworkChange{Address: addr, Action: string(c.Action), Exposure: exposure})
			}
		}
	}
	return r
}

// resourceType returns the type of a resource address:
// module.net.aws_security_group.web["a"] → aws_security_group.
func resourceType(addr string) string {
	parts := strings.Split(addr, ".")
	for i := 0; i < len(parts); i++ {
		switch {
		case strings.HasPrefix(parts[i], "module") && i+1 < len(parts):
			i++ // the module's name
		case parts[i] == "data":
		default:
			return parts[i]
		}
	}
	return ""
}

// networkType reports whether a resource type is about network reach:
// security groups, firewalls, ACLs, routes, gateways, load balancers,
// public addresses, public access blocks.
func networkType(t string) bool {
	for _, k := range []string{"security_group", "firewall", "network_acl", "network_security", "route",
		"internet_gateway", "nat_gateway", "_lb", "_elb", "load_balancer", "public_access_block", "_eip",
		"peering", "public_ip"} {
		if strings.Contains(t, k) {
			return true
		}
	}
	return false
}

// exposed says how a change opens something to the internet: an ingress
// rule or firewall source of 0.0.0.0/0 or ::/0, or a public flag turned on.
func exposed(c checks.ResourceChange) string {
	if c.Action == checks.ActionDelete {
		return ""
	}
	attrs, _ := c.Attributes()
	ingressRule := strings.Contains(resourceType(c.Address), "ingress")
	for _, a := range attrs {
		if a.Path == "type" && a.After == `"ingress"` {
			ingressRule = true
		}
	}
	for _, a := range attrs {
		leaf := leafName(a.Path)
		open := strings.Contains(a.After, `"0.0.0.0/0"`) || strings.Contains(a.After, `"::/0"`)
		switch {
		case open && (strings.HasPrefix(a.Path, "ingress") || ingressRule):
			return "ingress open to the internet"
		case open && (strings.HasPrefix(leaf, "source_range") || strings.HasPrefix(leaf, "source_address_prefix")):
			return "source open to the internet"
		case (leaf == "source_address_prefix" || leaf == "source_address_prefixes") &&
			(strings.Contains(a.After, `"*"`) || strings.Contains(a.After, `"Internet"`)):
			return "source open to the internet"
		case (leaf == "publicly_accessible" || leaf == "associate_public_ip_address" || leaf == "map_public_ip_on_launch") && a.After == "true":
			return leaf + " = true"
		case leaf == "acl" && strings.Contains(a.After, "public-read"):
			return "acl " + a.After
		}
	}
	return ""
}

// leafName is the attribute an attribute path ends in, without list
// indexes: ingress[0].cidr_blocks[1] → cidr_blocks.
func leafName(path string) string {
	for strings.HasSuffix(path, "]") {
		i := strings.LastIndexByte(path, '[')
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return path[strings.LastIndexByte(path, '.')+1:]
}
