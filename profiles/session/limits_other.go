//go:build !unix

package session

// fdBudget is how many connections the process may open; 0: unknown (no
// open-file limit to read here).
func fdBudget() int { return 0 }
