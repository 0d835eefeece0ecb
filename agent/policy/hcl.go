package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/tmccombs/hcl2json/convert"

	"github.com/infra-agent/infra-agent/checks"
)

// CheckHCL evaluates the policies on every configuration file of the root
// (each file is one input, as with `conftest test DIR`): .tf files as
// conftest's hcl2 parser reads them, .tf.json files as its JSON parser does.
// It returns the warnings and failures, each at the block it is about.
func (e *Engine) CheckHCL(ctx context.Context, root Root) ([]checks.Finding, error) {
	res, err := e.EvaluateHCL(ctx, root)
	return res.Findings, err
}

// EvaluateHCL is CheckHCL with conftest's counts.
func (e *Engine) EvaluateHCL(ctx context.Context, root Root) (Result, error) {
	rel := root.rel()
	names, err := configFiles(root.Dir, true)
	if err != nil {
		return Result{}, fmt.Errorf("checking %s: %w", rel, err)
	}
	// Files are independent inputs, and parsing them is most of the cost of a
	// root: they are checked in parallel, and merged in name order so the
	// result (and the first error) is the same as one after the other.
	results := make([]Result, len(names))
	errs := make([]error, len(names))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i], errs[i] = e.evaluateHCLFile(ctx, root, rel, name)
		}()
	}
	wg.Wait()
	var res Result
	for i := range names {
		if errs[i] != nil {
			return Result{}, errs[i]
		}
		res.Counts.add(results[i].Counts)
		res.Findings = append(res.Findings, results[i].Findings...)
	}
	sortFindings(res.Findings)
	return res, nil
}

// evaluateHCLFile checks one file of a root.
func (e *Engine) evaluateHCLFile(ctx context.Context, root Root, rel, name string) (Result, error) {
	fileRel := joinRel(rel, name)
	src, err := os.ReadFile(filepath.Join(root.Dir, name))
	if err != nil {
		return Result{}, fmt.Errorf("reading %s: %w", fileRel, err)
	}
	f, err := parseFile(src, name, fileRel)
	if err != nil {
		return Result{}, err
	}
	input, err := fileInput(f, src, name)
	if err != nil {
		return Result{}, fmt.Errorf("converting %s: %w", fileRel, err)
	}
	hits, counts, err := e.evaluate(ctx, input, fileInfo{name: name, dir: root.Dir})
	if err != nil {
		return Result{}, fmt.Errorf("checking %s: %w", fileRel, err)
	}
	res := Result{Counts: counts}
	if len(hits) == 0 {
		return res, nil
	}
	blocks := fileBlocks(f, fileRel)
	for _, h := range hits {
		res.Findings = append(res.Findings, locateInFile(h, rel, fileRel, blocks))
	}
	return res, nil
}

// fileInput is the input document conftest makes of a configuration file:
// conftest picks its parser by the last extension, so a .tf.json file is
// plain JSON to it, and a .tf file goes through its hcl2 parser.
func fileInput(f *hcl.File, src []byte, name string) (any, error) {
	if !strings.HasSuffix(name, ".json") {
		return hclInput(f)
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var input any
	if err := dec.Decode(&input); err != nil {
		return nil, err
	}
	return input, nil
}

// hclInput is the input document conftest's hcl2 parser makes of a file:
// that parser is hcl2json's convert.Bytes, which is hclsyntax.ParseConfig
// followed by convert.File, then encoding/json. Calling its halves lets the
// one parse serve the locator too (parsing is most of the cost of a root).
func hclInput(f *hcl.File) (any, error) {
	data, err := convert.File(f, convert.Options{})
	if err != nil {
		return nil, err
	}
	var input any
	if err := json.Unmarshal(data, &input); err != nil {
		return nil, err
	}
	return input, nil
}

// locateInFile places an HCL finding on the block of its file it is about,
// or on line 1 of the file.
func locateInFile(h hit, rootRel, fileRel string, blocks []block) checks.Finding {
	f := newFinding(h, rootRel)
	f.File, f.Line = fileRel, 1
	if file, line, ok := declaredLine(h, rootRel, fileRel); ok {
		f.File, f.Line = file, line
		f.Address = declaredAddress(h)
		return f
	}
	if addr := declaredAddress(h); addr != "" {
		f.Address = addr
		if b, ok := blockForAddress(blocks, addr); ok {
			f.Line = b.Line
			return f
		}
	}
	cands := make([]candidate, len(blocks))
	for i, b := range blocks {
		cands[i] = blockCandidate(b)
	}
	idx := strongest(h.result.Message, cands)
	if len(idx) == 0 {
		return f
	}
	first := blocks[idx[0]]
	for _, i := range idx[1:] {
		if blocks[i].Line != first.Line {
			return f
		}
	}
	f.Line = first.Line
	if f.Address == "" {
		f.Address = first.Address()
	}
	return f
}

// blockForAddress finds the block of one file an address refers to: the
// block itself, or the module block through which the address is reached.
func blockForAddress(blocks []block, s string) (block, bool) {
	a, ok := parseAddress(s)
	if !ok {
		return block{}, false
	}
	if len(a.Modules) > 0 {
		return find(blocks, address{Kind: kindModule, Name: a.Modules[0]})
	}
	return find(blocks, a)
}
