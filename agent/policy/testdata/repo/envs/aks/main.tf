# An AKS cluster with RBAC, private API and local accounts all off.

resource "azapi_resource" "res" {
  type = "Microsoft.ContainerService/managedClusters@2024-05-01"
  body = {
    properties = {
      enableRBAC = false
    }
  }
}
