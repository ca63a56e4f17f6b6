package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pcapx/pcapx/analyze"
)

// memoryFlags are --memory and --max-flows, which every command that
// analyses has.
type memoryFlags struct {
	memory   string
	maxFlows int
}

func (m *memoryFlags) register(cmd *cobra.Command, per string) {
	f := cmd.Flags()
	f.StringVar(&m.memory, "memory", "256MB", "memory budget"+per+" (KB, MB, GB; KiB, MiB, GiB): the flow table, the connections parsed at once, the bytes held ahead of holes and the Parquet row groups are shares of it; what is shed at a bound is counted (capture-incomplete)")
	f.IntVar(&m.maxFlows, "max-flows", 0, "most flows tracked at once; beyond it the oldest is evicted and counted (default: what fits in 35% of --memory, by the state each flow holds: 0.6 KB a UDP flow, 2 KB a TCP connection that carried data)")
}

// apply checks the flags, puts them in cfg, and makes the budget's heap
// the Go runtime's memory limit (unless GOMEMLIMIT sets one): the
// collector then works harder rather than let the heap pass the budget.
// This is the process's one GC setting, here in main, for a need the user
// states with --memory.
func (m *memoryFlags) apply(cmd *cobra.Command, cfg *analyze.Config) (analyze.Budget, error) {
	n, err := parseSize(m.memory)
	if err != nil {
		return analyze.Budget{}, fmt.Errorf("--memory %q: %w", m.memory, err)
	}
	if n < analyze.MinMemory {
		// MB is 10^6 bytes here, MiB 2^20: 64MB is less than the
		// minimum, so the message names it in MiB.
		return analyze.Budget{}, fmt.Errorf("--memory %s: want at least %dMiB (%d bytes)", m.memory, analyze.MinMemory>>20, int64(analyze.MinMemory))
	}
	if cmd.Flags().Changed("max-flows") && m.maxFlows < 1 {
		return analyze.Budget{}, fmt.Errorf("--max-flows %d: want at least 1 (flows tracked at once)", m.maxFlows)
	}
	cfg.Memory = n
	cfg.Flows.MaxFlows = m.maxFlows // 0: the budget's share
	b := analyze.Budget{Bytes: n}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(b.Heap())
	}
	return b, nil
}

// parseSize reads "256MB", "1GiB", "512K" or a number of bytes.
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("want a size such as 256MB or 1GiB")
	}
	return int64(v * float64(mult)), nil
}
