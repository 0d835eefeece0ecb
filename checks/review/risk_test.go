package review

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/checks"
)

func planReport(t *testing.T, files ...string) checks.Report {
	t.Helper()
	var rep checks.Report
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "plans", f))
		if err != nil {
			t.Fatal(err)
		}
		p, err := checks.ParsePlan(data)
		if err != nil {
			t.Fatal(err)
		}
		rep.Roots = append(rep.Roots, checks.RootResult{Dir: filepath.Dir(f), Plan: p})
	}
	return rep
}

func iamForTest(t string) bool { return strings.HasPrefix(t, "aws_iam_") }

// TestRiskOfRealPlans reads the risk of real plans: TerraGoat's (IAM, a
// security group open to the internet), and one that replaces a secret.
func TestRiskOfRealPlans(t *testing.T) {
	r := RiskOf(planReport(t, "checkov/terragoat-aws.tfplan.json"), iamForTest)
	if !r.Planned || len(r.Deletes)+len(r.Replaces) != 0 {
		t.Errorf("terragoat: planned %v, %d deletes, %d replaces", r.Planned, len(r.Deletes), len(r.Replaces))
	}
	if !slices.Contains(r.IAM, "aws_iam_role.ec2role (create)") || len(r.IAM) != 10 {
		t.Errorf("IAM = %v", r.IAM)
	}
	var exposed []string
	for _, n := range r.Network {
		if n.Exposure != "" {
			exposed = append(exposed, n.Address+": "+n.Exposure)
		}
	}
	if !slices.Contains(exposed, "aws_security_group.web-node: ingress open to the internet") {
		t.Errorf("exposed = %v, network = %+v", exposed, r.Network)
	}
	if slices.ContainsFunc(exposed, func(s string) bool { return strings.HasPrefix(s, "aws_security_group_rule.egress") }) {
		t.Errorf("an egress rule counted as exposure: %v", exposed)
	}

	r = RiskOf(planReport(t, "checkov/replace_create_delete.tfplan.json", "terraform-json/action_reason.plan.json"), nil)
	if len(r.Replaces) == 0 || !strings.Contains(strings.Join(r.Replaces, " "), "aws_secretsmanager_secret.default") {
		t.Errorf("replaces = %v", r.Replaces)
	}
	if len(r.IAM) != 0 {
		t.Errorf("no IAM classifier, IAM = %v", r.IAM)
	}
}

func TestResourceType(t *testing.T) {
	for addr, want := range map[string]string{
		"aws_s3_bucket.data":                               "aws_s3_bucket",
		"module.net.aws_security_group.web[\"a\"]":         "aws_security_group",
		"module.a.module.b.data.aws_iam_policy_document.p": "aws_iam_policy_document",
		"data.aws_ami.x":                                   "aws_ami",
	} {
		if got := resourceType(addr); got != want {
			t.Errorf("resourceType(%s) = %q, want %q", addr, got, want)
		}
	}
}

// TestExposure: public flags, a public ACL and firewall sources open to the
// internet count as exposure; a private database and an egress rule do not.
func TestExposure(t *testing.T) {
	plan, err := checks.ParsePlan([]byte(`{"format_version":"1.2","planned_values":{},"resource_changes":[
		{"address":"aws_db_instance.open","type":"aws_db_instance","change":{"actions":["update"],"before":{"publicly_accessible":false},"after":{"publicly_accessible":true}}},
		{"address":"aws_db_instance.closed","type":"aws_db_instance","change":{"actions":["update"],"before":{"publicly_accessible":true},"after":{"publicly_accessible":false}}},
		{"address":"aws_s3_bucket_acl.logs","type":"aws_s3_bucket_acl","change":{"actions":["create"],"after":{"acl":"public-read"}}},
		{"address":"google_compute_firewall.ssh","type":"google_compute_firewall","change":{"actions":["create"],"after":{"source_ranges":["0.0.0.0/0"]}}},
		{"address":"azurerm_network_security_rule.rdp","type":"azurerm_network_security_rule","change":{"actions":["create"],"after":{"source_address_prefix":"Internet"}}},
		{"address":"aws_vpc_security_group_egress_rule.out","type":"aws_vpc_security_group_egress_rule","change":{"actions":["create"],"after":{"cidr_ipv4":"0.0.0.0/0"}}},
		{"address":"aws_vpc_security_group_ingress_rule.in","type":"aws_vpc_security_group_ingress_rule","change":{"actions":["create"],"after":{"cidr_ipv6":"::/0"}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	r := RiskOf(checks.Report{Roots: []checks.RootResult{{Dir: ".", Plan: plan}}}, nil)
	got := map[string]string{}
	for _, n := range r.Network {
		got[n.Address] = n.Exposure
	}
	want := map[string]string{
		"google_compute_firewall.ssh":            "source open to the internet",
		"azurerm_network_security_rule.rdp":      "source open to the internet",
		"aws_vpc_security_group_egress_rule.out": "",
		"aws_vpc_security_group_ingress_rule.in": "ingress open to the internet",
	}
	for addr, w := range want {
		if g, ok := got[addr]; !ok || g != w {
			t.Errorf("%s: exposure %q (listed %v), want %q", addr, g, ok, w)
		}
	}
	for _, c := range plan.Changes {
		switch e := exposed(c); c.Address {
		case "aws_db_instance.open":
			if e != "publicly_accessible = true" {
				t.Errorf("%s: %q", c.Address, e)
			}
		case "aws_db_instance.closed":
			if e != "" {
				t.Errorf("%s: %q", c.Address, e)
			}
		case "aws_s3_bucket_acl.logs":
			if !strings.Contains(e, "public-read") {
				t.Errorf("%s: %q", c.Address, e)
			}
		}
	}
}
