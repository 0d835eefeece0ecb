package main

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// miniDoc is a small description shaped like GitHub's: path-level and component parameters, a request body
// with a property named "description", media-type examples, and a response referencing a schema.
const miniDoc = `{
  "openapi": "3.0.3",
  "info": {"title": "mini", "version": "1"},
  "paths": {
    "/repos/{owner}/{repo}/check-runs": {
      "post": {
        "operationId": "checks/create", "description": "Creates a check run.",
        "parameters": [{"$ref": "#/components/parameters/owner"}, {"name": "repo", "in": "path", "required": true,
          "schema": {"type": "string"}}],
        "requestBody": {"required": true, "content": {"application/json": {
          "schema": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string", "description": "The name."},
            "description": {"type": "string", "maxLength": 40}}},
          "examples": {"default": {"$ref": "#/components/examples/big"}}}}},
        "responses": {"201": {"description": "Response", "content": {"application/json": {
          "schema": {"$ref": "#/components/schemas/check-run"}}}}},
        "x-github": {"category": "checks"}
      },
      "get": {"operationId": "checks/list", "responses": {"200": {"description": "ok"}}}
    },
    "/repos/{owner}/{repo}/merge": {"put": {"operationId": "repos/merge", "responses": {"204": {"description": "ok"}}}}
  },
  "components": {
    "parameters": {"owner": {"name": "owner", "in": "path", "required": true, "schema": {"type": "string"},
      "description": "The owner."}},
    "schemas": {
      "check-run": {"type": "object", "required": ["id", "app"], "properties": {"id": {"type": "integer"},
        "app": {"$ref": "#/components/schemas/integration"}}},
      "integration": {"type": "object", "properties": {"slug": {"type": "string"}}},
      "unused": {"type": "string"}
    },
    "examples": {"big": {"value": {"name": "x"}}}
  }
}`

func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "api.json.gz")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	if _, err := zw.Write([]byte(miniDoc)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	impl := filepath.Join(dir, "implemented.txt")
	if err := os.WriteFile(impl, []byte("# comment\nPOST /repos/{owner}/{repo}/check-runs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, testdata := filepath.Join(dir, "out"), filepath.Join(dir, "testdata")
	for _, d := range []string{out, testdata} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := run([]string{"-in", in, "-implemented", impl, "-out", out, "-testdata", testdata}); err != nil {
		t.Fatalf("run: %v", err)
	}

	ops, err := os.ReadFile(filepath.Join(out, "operations.txt"))
	if err != nil {
		t.Fatal(err)
	}
	wantOps := "GET /repos/{owner}/{repo}/check-runs\nPOST /repos/{owner}/{repo}/check-runs\nPUT /repos/{owner}/{repo}/merge\n"
	if _, got, _ := strings.Cut(string(ops), "\n"); got != wantOps {
		t.Errorf("operations.txt =\n%s\nwant\n%s", got, wantOps)
	}

	requests := readGz(t, filepath.Join(out, "api.github.com.requests.json.gz"))
	paths := requests["paths"].(map[string]any)
	if len(paths) != 1 {
		t.Fatalf("paths = %v", paths)
	}
	op := paths["/repos/{owner}/{repo}/check-runs"].(map[string]any)["post"].(map[string]any)
	if _, ok := op["description"]; ok {
		t.Error("operation prose kept")
	}
	if _, ok := op["x-github"]; ok {
		t.Error("x-github kept")
	}
	if resp := op["responses"].(map[string]any); resp["default"] == nil || resp["201"] != nil {
		t.Errorf("request document responses = %v, want only the placeholder", resp)
	}
	props := op["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)
	if _, ok := props["examples"]; ok {
		t.Error("media type examples kept")
	}
	schema := props["schema"].(map[string]any)["properties"].(map[string]any)
	if d, ok := schema["description"].(map[string]any); !ok || d["maxLength"] == nil {
		t.Errorf("the property named description was dropped: %v", schema)
	}
	comps := requests["components"].(map[string]any)
	if comps["schemas"] != nil || comps["examples"] != nil || comps["parameters"] == nil {
		t.Errorf("request document components = %v, want only the owner parameter", comps)
	}

	full := readGz(t, filepath.Join(testdata, "api.github.com.subset.json.gz"))
	schemas := full["components"].(map[string]any)["schemas"].(map[string]any)
	if schemas["check-run"] == nil || schemas["integration"] == nil || schemas["unused"] != nil {
		t.Errorf("response document schemas = %v, want check-run and integration only", schemas)
	}
}

func TestGenerateRefusesUnknownOperation(t *testing.T) {
	doc := map[string]any{}
	if err := json.Unmarshal([]byte(miniDoc), &doc); err != nil {
		t.Fatal(err)
	}
	keep := map[string]map[string]bool{"/repos/{owner}/{repo}/check-runs": {"delete": true}}
	_, err := extract(doc, doc["paths"].(map[string]any), keep, false)
	if err == nil || !strings.Contains(err.Error(), "DELETE /repos/{owner}/{repo}/check-runs is not in the document") {
		t.Errorf("err = %v", err)
	}
	if err := run(nil); err == nil || !strings.Contains(err.Error(), "-in is required") {
		t.Errorf("run without -in: %v", err)
	}
}

func readGz(t *testing.T, path string) map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.NewDecoder(zr).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc
}
