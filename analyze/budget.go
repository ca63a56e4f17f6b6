package analyze

import (
	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/flows/streams"
)

// A run's memory budget (Config.Memory, --memory) is shared out among
// what it holds, as shares of the heap it may use: the budget less what
// the process needs besides its heap (the program, the runtime, stacks,
// read buffers: BudgetReserve).
//
//   - the flow table: 35%, in bytes as the table counts them
//     (flows.StateCost: 640 bytes a UDP flow, 1,152 a TCP connection,
//     2,048 one that carried data, 256 a closed connection's tombstone,
//     flows/timewait.go), so that it holds many cheap flows or fewer dear
//     ones;
//   - the application parsers of connections (HTTP, TLS, DNS over TCP with
//     their reassembly state): 20%, at ParserCost a connection;
//   - the bytes TCP reassembly holds ahead of holes: 10%;
//   - the rows a Parquet table holds before it writes a row group: 10%,
//     at ParquetRowCost a row (cmd/pcapx sets it);
//   - the rest is the collector's headroom and what other bounds hold by
//     count (pending DNS queries, fragments, the rules' groups, the
//     summaries' lists).
//
// cmd/pcapx makes the heap size the Go runtime's memory limit, so the
// collector works harder rather than let the heap pass it. What is shed at
// a bound is counted (the capture-incomplete finding). docs/cli.md#memory
// has the figures.
const (
	// DefaultMemory is the default budget: 256 MB.
	DefaultMemory = 256 << 20
	// BudgetReserve is what the process needs besides its heap, measured:
	// 31 MB peak RSS for the bundled demo capture, 49 MB with -o.
	BudgetReserve = 40 << 20
	// MinMemory is the smallest budget accepted.
	MinMemory = 64 << 20
	// ParserCost is what a connection's live parsers add, measured by
	// TestFlowCost: 3,350 bytes more for a kept-open HTTP connection.
	ParserCost = 3584
	// ParquetRowCost is what a row waiting for its row group costs
	// (the flows table's widest rows, in arrow's builders).
	ParquetRowCost = 1024
)

// Budget is a memory budget shared out.
type Budget struct {
	Bytes int64
}

// Heap is the heap the budget allows: the Go runtime's memory limit.
func (b Budget) Heap() int64 { return b.Bytes - BudgetReserve }

// TableBytes is the flow table's bound, in bytes of its state
// (flows.Config.MaxBytes).
func (b Budget) TableBytes() int64 { return b.Heap() * 35 / 100 }

// MaxParsers bounds the connections with live parsers.
func (b Budget) MaxParsers() int { return int(b.Heap() * 20 / 100 / ParserCost) }

// ReassemblyPages bounds the bytes held ahead of holes, in pages.
func (b Budget) ReassemblyPages() int { return int(b.Heap() / 10 / streams.PageBytes) }

// ParquetRows is the row group size of the Parquet tables.
func (b Budget) ParquetRows() int { return int(b.Heap() / 10 / ParquetRowCost) }

// apply sets the bounds the configuration leaves to the budget.
func (b Budget) apply(cfg *Config) {
	if cfg.Flows.MaxFlows <= 0 && cfg.Flows.MaxBytes <= 0 {
		// --max-flows, when given, bounds the table instead.
		cfg.Flows.MaxBytes = b.TableBytes()
		cfg.Flows.MaxFlows = int(cfg.Flows.MaxBytes / flows.CostFlow)
	}
	if cfg.Streams.MaxPagesTotal <= 0 {
		cfg.Streams.MaxPagesTotal = b.ReassemblyPages()
	}
	if cfg.Streams.MaxParsers <= 0 {
		cfg.Streams.MaxParsers = b.MaxParsers()
	}
}
