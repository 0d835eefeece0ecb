package checks

// Plan is the render model of one terraform plan, built from `terraform show
// -json` output by ParsePlan.
type Plan struct {
	FormatVersion    string
	TerraformVersion string
	Counts           PlanCounts
}
