package Azure_Proactive_Resiliency_Library_v2

import rego.v1

exception contains rules if {
	rules := ["aks_sku_standard_or_premium"]
}
