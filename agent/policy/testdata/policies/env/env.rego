# A policy that tries to read the environment: the conftest CLI gives
# opa.runtime().env every environment variable; the engine gives it none.
package main

import rego.v1

deny contains msg if {
	env := opa.runtime().env
	msg := sprintf("environment: %v", [env])
}

deny contains msg if {
	value := opa.runtime().env.INFRA_AGENT_TEST_CANARY
	msg := sprintf("canary: %s", [value])
}

warn contains msg if {
	some name, value in opa.runtime().env
	msg := sprintf("%s=%s", [name, value])
}
