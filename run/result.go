// Package run is what one analysis run is: the capture overview, the TCP
// totals, the timeline, the talkers, the summaries of the records, and the
// findings (Result); the sinks that receive the records as the run produces
// them (Sink); and the one summariser that computes every summary from the
// records (Summariser, itself a sink). Package analyze produces a Result;
// the outputs (text, JSON, Parquet, the HTML page) only render or store
// it, and `pcapx report DIR` rebuilds it from the tables by handing their
// records to a Summariser again. docs/architecture.md shows where it sits.
package run

import (
	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/flows/streams"
	"github.com/pcapx/pcapx/rules"
)

// Sink receives the records of a run as they complete: each flow as it
// ends, each DNS, HTTP and TLS record as its transaction ends. The records
// are the sink's to keep.
type Sink interface {
	Flow(*flows.Record) error
	DNS(*flows.DNSRecord) error
	HTTP(*flows.HTTPRecord) error
	TLS(*flows.TLSRecord) error
}

// ICMPSink is a Sink that also takes the ICMP error records (the JSON
// document and the Parquet tables do; a sink that does not implement it
// simply does not get them).
type ICMPSink interface {
	ICMP(*flows.ICMPRecord) error
}

// Result is what a run found, apart from the records handed to the sinks.
// The Summariser fills FlowStates, Protocols, TCP, TopTalkers, WorstFlows,
// App and Lists from the records; the run fills the rest (Capture and the
// components' statistics from the reader, Timeline from every packet,
// Findings from the rules).
type Result struct {
	Capture    Capture          `json:"capture"`
	TCP        TCPSummary       `json:"tcp"`
	FlowStates map[string]int64 `json:"flow_states"`
	Protocols  map[string]int64 `json:"protocols"`
	TopTalkers []Talker         `json:"top_talkers"`
	// WorstFlows are the TCP flows with the most trouble (retransmissions,
	// lost segments, zero windows, resets), worst first, for the summary.
	WorstFlows []flows.Record `json:"-"`
	// Findings are the rules' diagnoses, most severe first.
	Findings []rules.Finding `json:"-"`
	// Omitted is what each rule's cap left out of Findings: the findings
	// and the occurrences they grouped (none is lost uncounted).
	// Suppressed has the same findings counts by rule.
	Omitted    []rules.Omitted  `json:"-"`
	Suppressed map[string]int64 `json:"-"`
	App        AppSummary       `json:"-"`
	// Lists are the bounded lists the reports show: top flows, the
	// slowest connections, failing names, HTTP errors, the RTT histogram.
	Lists    Lists            `json:"-"`
	Timeline Timeline         `json:"-"`
	Streams  streams.Stats    `json:"-"`
	Table    flows.TableStats `json:"-"`
	Decode   flows.DecodeStats

	// Following a capture (analyze.Follow): what the step counted by
	// period, oldest first; the earliest first packet of a flow still
	// open at the end of the input (0: none), where the next step must
	// start re-reading to rebuild it; and the tcp.stream number the next
	// step starts at.
	// FileLastNS has the latest packet time of each input file.
	Periods    []*Period        `json:"-"`
	OpenFromNS int64            `json:"-"`
	NextStream int64            `json:"-"`
	FileLastNS map[string]int64 `json:"-"`

	// RuleWarnings are the rules' own non-fatal problems (a custom rule
	// that failed on some records), kept apart from the capture's damage
	// warnings: --strict does not count them.
	RuleWarnings []string `json:"-"`
}

// Capture describes the input as a whole.
type Capture struct {
	Files     []File   `json:"files"`
	Packets   int64    `json:"packets"`
	Bytes     int64    `json:"bytes"` // frame bytes on the wire
	First     string   `json:"first"` // RFC 3339 with ns, UTC; "" for an empty capture
	Last      string   `json:"last"`
	FirstNS   int64    `json:"-"`
	LastNS    int64    `json:"-"`
	Duration  float64  `json:"duration_s"`
	LinkTypes []string `json:"link_types"`
	Flows     int64    `json:"flows"`
	Evicted   int64    `json:"flows_evicted"` // flows pushed out of a full table
	PeakFlows int      `json:"peak_active_flows"`
	NotIP     int64    `json:"non_ip_frames"`
	Malformed int64    `json:"malformed_frames"`
	Fragments int64    `json:"ip_fragments"`

	// FragmentsDropped were not reassembled: overlapping, over a bound of
	// the reassembly, invalid, or incomplete (30 s, or at the end).
	FragmentsDropped     int64 `json:"ip_fragments_dropped"`
	FragmentsOverlapping int64 `json:"ip_fragments_overlapping"` // of them: overlapping (datagram discarded) or duplicates
	FragmentsOverLimit   int64 `json:"ip_fragments_over_limit"`  // of them: past the reassembly's bounds

	Truncated int64 `json:"truncated_frames"` // cut short by the snapshot length

	// What the run shed at the bounds of its memory budget besides
	// evicted flows (Evicted): holes in TCP streams it stopped waiting
	// for, connections whose parsing stopped early, DNS queries dropped
	// from a full pending list.
	ReassemblySkips   int64 `json:"reassembly_holes_skipped"`
	ParsersStopped    int64 `json:"parsers_stopped"`
	DNSQueriesDropped int64 `json:"dns_queries_dropped"`
	// Window is the time window of analyze.Config's Since and Until as an
	// RFC 3339 interval ("SINCE/UNTIL", ".." for an open end); "" without
	// one.
	Window string `json:"window,omitempty"`
	// OutsideWindow counts the packets read but skipped as outside the
	// window; Packets does not count them.
	OutsideWindow int64    `json:"outside_window,omitempty"`
	Warnings      []string `json:"warnings"`
}

// File is one input file.
type File struct {
	Name        string   `json:"name"`
	Format      string   `json:"format"`
	Compression string   `json:"compression,omitempty"`
	Packets     int64    `json:"packets"`
	LinkTypes   []string `json:"link_types"`
	Comments    []string `json:"comments,omitempty"`
	Skipped     bool     `json:"skipped,omitempty"`
}

// TCPSummary is the capture-wide TCP analysis.
type TCPSummary struct {
	Streams int64 `json:"streams"`
	flows.TCPCounts
	// Of the retransmissions and of the duplicate ACKs, the packets the
	// capture holds twice (the same packet from two capture points: not
	// sent again; docs/tcp-analysis.md).
	RetransmissionCopies int64 `json:"retransmission_copies"`
	DuplicateAckCopies   int64 `json:"duplicate_ack_copies"`
}

// AppSummary counts the application records of a run.
type AppSummary struct {
	DNSTransactions int64
	DNSResponses    int64
	DNSRcodes       map[string]int64 // answered transactions by rcode name ("rcode N" when it has none; at most 64, then "other")
	DNSUnanswered   int64
	HTTPRequests    int64
	HTTPResponses   int64
	HTTPStatus      map[string]int64 // by class: 1xx .. 5xx
	HTTPCodes       map[int]int64    // by status code (100 .. 599)
	TLSHandshakes   int64            // ClientHellos
	TLSOutcomes     map[string]int64 // by outcome ("unknown" when none; at most 32, then "other")
	ICMPMessages    int64            // ICMP error and redirect records
	ICMPKinds       map[string]int64 // by kind (frag-needed, unreachable, ...)
}

// Talker is one host and the bytes it sent and received.
type Talker struct {
	Addr  string `json:"addr"`
	Bytes int64  `json:"bytes"`
	Flows int64  `json:"flows"`
}
