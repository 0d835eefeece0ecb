// Command testprovider is a small Terraform provider for the project's tests,
// built with terraform-plugin-framework and served under the
// registry.terraform.io/hashicorp/aws address through a filesystem mirror.
// It knows only the resource schemas the tests' AWS-shaped configurations use
// (schemas.go), so terraform init, validate and plan run offline, in seconds,
// against the same schema rules the real provider enforces. It never talks to
// a cloud: nothing is ever applied by the tests, and the create, read and
// update operations only echo the configuration back with computed values
// filled in.
//
// It is its own Go module so its dependencies stay out of the main module;
// the tests build it once per source version (internal/tftest).
package main

import (
	"context"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
)

// version is the provider version the mirror serves.
const version = "5.0.0"

func main() {
	err := providerserver.Serve(context.Background(), func() provider.Provider { return &awsProvider{} },
		providerserver.ServeOpts{Address: "registry.terraform.io/hashicorp/aws"})
	if err != nil {
		log.Fatal(err)
	}
}
