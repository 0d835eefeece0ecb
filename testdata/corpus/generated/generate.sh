#!/usr/bin/env bash
# Regenerates the plans of this directory with a real terraform: for each
# cases/NAME (a configuration, and the prior state as state.json), it plans
# offline (terraform_data needs no provider download) and writes
#   NAME.plan.json  `terraform show -json` of the saved plan
#   NAME.plan.txt   `terraform show -no-color` of it: terraform's own rendering
#                   and "Plan:" line, which the corpus test compares counts with.
#
# Usage: TERRAFORM=/path/to/terraform generate.sh
# The committed files were made with terraform v1.16.0-rc2 (forget needs 1.7,
# create-forget 1.16): built from the v1.16.0-rc2 tag's source with its module
# dependencies from the Go module proxy (go install cannot build it: its go.mod
# replaces its own submodules), `go build -o terraform .` in the source tree.
# The test suite never runs this: it reads the committed output.
set -euo pipefail
cd "$(dirname "$0")"
tf="${TERRAFORM:?set TERRAFORM to the terraform binary to generate with}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for dir in cases/*/; do
	name=$(basename "$dir")
	rm -rf "$work/$name"
	cp -r "$dir" "$work/$name"
	if [ -f "$work/$name/state.json" ]; then
		mv "$work/$name/state.json" "$work/$name/terraform.tfstate"
	fi
	(
		cd "$work/$name"
		export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
		"$tf" init -input=false -no-color >/dev/null
		# A plan that fails (the errored case) is still saved; its exit status is not ours.
		"$tf" plan -input=false -no-color -lock=false -refresh=false -out=tfplan >/dev/null 2>&1 || true
		"$tf" show -json tfplan >plan.json
		"$tf" show -no-color tfplan >plan.txt
	)
	# Pretty-printed, so a diff of a regenerated plan reads line by line.
	python3 -m json.tool --indent 2 "$work/$name/plan.json" >"$name.plan.json"
	cp "$work/$name/plan.txt" "$name.plan.txt"
	echo "$name: $(grep -E '^(Plan|No changes|Changes to Outputs|Planning failed)' "$name.plan.txt" | head -1 || true)"
done
