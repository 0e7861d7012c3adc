package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strconv"
	"strings"
)

// patchOp is one operation of a JSON Patch document.
type patchOp struct {
	Op    string           `json:"op"`
	Path  *string          `json:"path"`
	From  *string          `json:"from"`
	Value *json.RawMessage `json:"value"`
}

// ApplyJSONPatch applies a JSON Patch (RFC 6902) document to doc and returns the
// result. doc is not modified. The patch is all or nothing: any failing operation,
// including a failing "test", returns an error naming the operation's index.
func ApplyJSONPatch(doc any, patch []byte) (any, error) {
	var ops []patchOp
	dec := json.NewDecoder(bytes.NewReader(patch))
	if err := dec.Decode(&ops); err != nil {
		return nil, fmt.Errorf("the patch must be a JSON array of operations: %v", err)
	}
	if err := checkJSON(patch, ""); err != nil {
		return nil, fmt.Errorf("the patch is not valid JSON: %w", err)
	}
	out := Clone(doc)
	for i, op := range ops {
		var err error
		out, err = applyOp(out, op)
		if err != nil {
			return nil, fmt.Errorf("operation %d (%s): %w", i, op.Op, err)
		}
	}
	return out, nil
}

func applyOp(doc any, op patchOp) (any, error) {
	if op.Path == nil {
		return nil, errors.New(`"path" is missing`)
	}
	path, err := parsePointer(*op.Path)
	if err != nil {
		return nil, err
	}
	value := func() (any, error) {
		if op.Value == nil {
			return nil, errors.New(`"value" is missing`)
		}
		d := json.NewDecoder(bytes.NewReader(*op.Value))
		d.UseNumber()
		var v any
		err := d.Decode(&v)
		return v, err
	}
	switch op.Op {
	case "add":
		v, err := value()
		if err != nil {
			return nil, err
		}
		return pointerAdd(doc, path, v)
	case "remove":
		return pointerRemove(doc, path)
	case "replace":
		v, err := value()
		if err != nil {
			return nil, err
		}
		if _, err := pointerGet(doc, path); err != nil {
			return nil, err
		}
		doc, err = pointerRemove(doc, path)
		if err != nil {
			return nil, err
		}
		return pointerAdd(doc, path, v)
	case "move", "copy":
		if op.From == nil {
			return nil, errors.New(`"from" is missing`)
		}
		from, err := parsePointer(*op.From)
		if err != nil {
			return nil, err
		}
		v, err := pointerGet(doc, from)
		if err != nil {
			return nil, err
		}
		if op.Op == "move" {
			if len(path) > len(from) && reflect.DeepEqual(path[:len(from)], from) {
				return nil, errors.New("cannot move a value into one of its own children")
			}
			if doc, err = pointerRemove(doc, from); err != nil {
				return nil, err
			}
		} else {
			v = Clone(v)
		}
		return pointerAdd(doc, path, v)
	case "test":
		v, err := value()
		if err != nil {
			return nil, err
		}
		got, err := pointerGet(doc, path)
		if err != nil {
			return nil, err
		}
		if !jsonEqual(got, v) {
			return nil, fmt.Errorf("test failed: the value at %q differs", *op.Path)
		}
		return doc, nil
	}
	return nil, fmt.Errorf("unknown op %q", op.Op)
}

func parsePointer(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("path %q must start with /", p)
	}
	parts := strings.Split(p[1:], "/")
	for i, s := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return parts, nil
}

func arrayIndex(tok string, n int, allowEnd bool) (int, error) {
	if tok == "-" && allowEnd {
		return n, nil
	}
	// RFC 6901: an index is "0" or digits without a leading zero; no sign.
	i, err := strconv.Atoi(tok)
	if err != nil || i < 0 || tok[0] < '0' || tok[0] > '9' || (tok != "0" && strings.HasPrefix(tok, "0")) {
		return 0, fmt.Errorf("%q is not an array index", tok)
	}
	limit := n - 1
	if allowEnd {
		limit = n
	}
	if i > limit {
		return 0, fmt.Errorf("index %d is out of range", i)
	}
	return i, nil
}

func pointerGet(doc any, path []string) (any, error) {
	cur := doc
	for _, tok := range path {
		switch x := cur.(type) {
		case map[string]any:
			v, ok := x[tok]
			if !ok {
				return nil, fmt.Errorf("no member %q", tok)
			}
			cur = v
		case []any:
			i, err := arrayIndex(tok, len(x), false)
			if err != nil {
				return nil, err
			}
			cur = x[i]
		default:
			return nil, fmt.Errorf("cannot descend into a scalar at %q", tok)
		}
	}
	return cur, nil
}

// pointerAdd returns doc with v added at path; arrays are rebuilt, so the result must
// replace doc.
func pointerAdd(doc any, path []string, v any) (any, error) {
	if len(path) == 0 {
		return v, nil
	}
	parent, err := pointerGet(doc, path[:len(path)-1])
	if err != nil {
		return nil, err
	}
	last := path[len(path)-1]
	switch x := parent.(type) {
	case map[string]any:
		x[last] = v
		return doc, nil
	case []any:
		i, err := arrayIndex(last, len(x), true)
		if err != nil {
			return nil, err
		}
		n := make([]any, 0, len(x)+1)
		n = append(n, x[:i]...)
		n = append(n, v)
		n = append(n, x[i:]...)
		return pointerSet(doc, path[:len(path)-1], n)
	}
	return nil, fmt.Errorf("cannot add to a scalar at %q", last)
}

// pointerSet replaces the existing value at path with v.
func pointerSet(doc any, path []string, v any) (any, error) {
	if len(path) == 0 {
		return v, nil
	}
	parent, err := pointerGet(doc, path[:len(path)-1])
	if err != nil {
		return nil, err
	}
	last := path[len(path)-1]
	switch x := parent.(type) {
	case map[string]any:
		x[last] = v
	case []any:
		i, err := arrayIndex(last, len(x), false)
		if err != nil {
			return nil, err
		}
		x[i] = v
	}
	return doc, nil
}

func pointerRemove(doc any, path []string) (any, error) {
	if len(path) == 0 {
		return nil, errors.New("cannot remove the whole document")
	}
	parent, err := pointerGet(doc, path[:len(path)-1])
	if err != nil {
		return nil, err
	}
	last := path[len(path)-1]
	switch x := parent.(type) {
	case map[string]any:
		if _, ok := x[last]; !ok {
			return nil, fmt.Errorf("no member %q", last)
		}
		delete(x, last)
		return doc, nil
	case []any:
		i, err := arrayIndex(last, len(x), false)
		if err != nil {
			return nil, err
		}
		n := make([]any, 0, len(x)-1)
		n = append(n, x[:i]...)
		n = append(n, x[i+1:]...)
		return pointerSet(doc, path[:len(path)-1], n)
	}
	return nil, fmt.Errorf("cannot remove from a scalar at %q", last)
}

// jsonEqual compares two trees, numbers by value.
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		// Compared as decimals at 512 bits: a float64 would call 1e400 and 2e400
		// (both out of range) unequal to themselves, and 0.1000000000000000001
		// equal to 0.1.
		fx, ok1 := new(big.Float).SetPrec(512).SetString(string(x))
		fy, ok2 := new(big.Float).SetPrec(512).SetString(string(y))
		return ok1 && ok2 && fx.Cmp(fy) == 0
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if !jsonEqual(v, y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}
