# SPDX-License-Identifier: Apache-2.0
# Terraform and the providers this configuration is written for.
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 5.0, < 8.0"
    }
    # The Incus cluster's certificates (horizontal-scaling.tf).
    tls = {
      source  = "hashicorp/tls"
      version = ">= 4.0, < 5.0"
    }
    # The zip of this checkout that the jump servers build (main.tf).
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4, < 3.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
  zone    = var.zone
}
