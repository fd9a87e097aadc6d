// Package inspect owns the preflight: it gathers cluster facts (one
// paginated list per kind) and host facts (through nodeexec), turns them into
// findings with stable IDs, and assembles the per-node Plan that `plan` prints
// and `migrate` executes.
package inspect
