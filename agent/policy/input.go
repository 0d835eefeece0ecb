package policy

import (
	"runtime"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// parallelElements is the length from which a list of the input is converted
// by several goroutines: a plan's resource_changes, its planned and prior
// resources.
const parallelElements = 256

// inputValue converts a decoded JSON document (objects, lists, strings,
// json.Numbers, booleans, nil) into the value OPA evaluates, as
// ast.InterfaceToValue does. Converting a plan of thousands of resources
// costs more than evaluating most policies on it, so the long lists in it are
// converted in parallel, a chunk per processor.
func inputValue(v any) (ast.Value, error) {
	switch t := v.(type) {
	case map[string]any:
		pairs := make([][2]*ast.Term, 0, len(t))
		for k, x := range t {
			val, err := inputValue(x)
			if err != nil {
				return nil, err
			}
			pairs = append(pairs, [2]*ast.Term{ast.StringTerm(k), ast.NewTerm(val)})
		}
		return ast.NewObject(pairs...), nil
	case []any:
		if len(t) >= parallelElements {
			return parallelArray(t)
		}
	}
	return ast.InterfaceToValue(v)
}

// parallelArray converts the elements of a long list in chunks, one
// goroutine per processor.
func parallelArray(list []any) (ast.Value, error) {
	terms := make([]*ast.Term, len(list))
	workers := min(runtime.GOMAXPROCS(0), len(list))
	size := (len(list) + workers - 1) / workers
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*size, min((w+1)*size, len(list))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				v, err := ast.InterfaceToValue(list[i])
				if err != nil {
					errs[w] = err
					return
				}
				terms[i] = ast.NewTerm(v)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return ast.NewArray(terms...), nil
}
