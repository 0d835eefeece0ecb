package checks

// maxLCSCells bounds the table of the longest-common-subsequence match of two
// lists: past it (two lists of 500 elements and more) elements are matched by
// index, which is still correct, only less readable.
const maxLCSCells = 250_000

// matchElements pairs the elements of a list before and after a change the
// way terraform's plan renderer does: lists of the same length that are not a
// reordering are compared index by index; otherwise the longest common
// subsequence of equal elements stays, the rest are removed (-1 after) or
// added (-1 before), and a removed object followed by an added object is one
// updated object. eq reports whether before element i equals after element
// j; isObject whether an element of the given side is an object.
func matchElements(n, m int, eq func(i, j int) bool, isObject func(before bool, k int) bool) [][2]int {
	if n*m > maxLCSCells || n == m && !isReorder(n, eq) {
		pairs := make([][2]int, 0, max(n, m))
		for k := range max(n, m) {
			pairs = append(pairs, [2]int{indexOr(k, n), indexOr(k, m)})
		}
		return pairs
	}
	common := lcs(n, m, eq)
	var pairs [][2]int
	bi, ai, li := 0, 0, 0
	for bi < n || ai < m || li < len(common) {
		for bi < n && (li >= len(common) || bi != common[li][0]) {
			if isObject(true, bi) && ai < m && isObject(false, ai) && (li >= len(common) || ai != common[li][1]) {
				pairs = append(pairs, [2]int{bi, ai})
				bi++
				ai++
				continue
			}
			pairs = append(pairs, [2]int{bi, -1})
			bi++
		}
		for ai < m && (li >= len(common) || ai != common[li][1]) {
			pairs = append(pairs, [2]int{-1, ai})
			ai++
		}
		if li < len(common) {
			pairs = append(pairs, common[li])
			bi, ai = common[li][0]+1, common[li][1]+1
			li++
		}
	}
	return pairs
}

func indexOr(k, n int) int {
	if k < n {
		return k
	}
	return -1
}

// isReorder reports whether every element before has an equal element after
// (for lists of the same length: the change only reorders them).
func isReorder(n int, eq func(i, j int) bool) bool {
	for i := range n {
		found := false
		for j := 0; j < n && !found; j++ {
			found = eq(i, j)
		}
		if !found {
			return false
		}
	}
	return true
}

// lcs returns the index pairs of a longest common subsequence of two lists,
// in order.
func lcs(n, m int, eq func(i, j int) bool) [][2]int {
	// table[i][j] is the length of the LCS of before[i:] and after[j:].
	table := make([][]int, n+1)
	for i := range table {
		table[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if eq(i, j) {
				table[i][j] = table[i+1][j+1] + 1
			} else {
				table[i][j] = max(table[i+1][j], table[i][j+1])
			}
		}
	}
	var out [][2]int
	for i, j := 0, 0; i < n && j < m; {
		switch {
		case eq(i, j):
			out = append(out, [2]int{i, j})
			i++
			j++
		case table[i+1][j] >= table[i][j+1]:
			i++
		default:
			j++
		}
	}
	return out
}
