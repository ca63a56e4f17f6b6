package parquet

import (
	"bytes"
	"fmt"
	"strings"
)

// Markdown renders docs/schema.md from the table specs (tables.go), so
// the document cannot drift from the files: TestSchemaDoc fails when the
// committed file differs, and `go test ./report/parquet -run
// TestSchemaDoc -update` rewrites it.
func Markdown() []byte {
	var b bytes.Buffer
	b.WriteString(schemaIntro)
	for _, t := range Tables() {
		fmt.Fprintf(&b, "\n## `%s.parquet`\n\n%s\n\n", t.Name, t.Doc)
		b.WriteString("| column | DuckDB type | Parquet type | null | unit | meaning |\n")
		b.WriteString("|---|---|---|---|---|---|\n")
		for _, c := range t.Columns {
			null := ""
			if c.Nullable {
				null = "NULL"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n",
				c.Name, mdCell(c.DuckDBType), mdCell(c.ParquetType), null, mdCell(c.Unit), mdCell(c.Doc))
		}
	}
	return b.Bytes()
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

const schemaIntro = `# Parquet tables

<!-- Generated from report/parquet/tables.go by
     go test ./report/parquet -run TestSchemaDoc -update
     Do not edit by hand. -->

` + "`pcapx analyze -o DIR`" + ` writes one Parquet file per table into DIR, beside ` + "`report.html`" + `:

- the records: ` + "`flows.parquet`, `findings.parquet`, `dns.parquet`, `http.parquet`, `tls.parquet`,\n  `icmp.parquet`" + `. Each holds exactly the records of the same name in ` + "`--format json`" + `
  (docs/json.md), one row per record, with the same column names except where this page
  says otherwise;
- the run: ` + "`capture.parquet`" + ` (one row per input file, with the run's overview and totals:
  the JSON's ` + "`capture`, `tcp` and `top_talkers`" + `) and ` + "`timeline.parquet`" + ` (the capture
  over time, one row per time bucket).

Together they are the whole run: ` + "`pcapx report DIR`" + ` rebuilds ` + "`report.html`" + ` from them alone,
no capture needed. A table with no records is still a valid file with its schema, so a query
over it returns no rows rather than an error.

    duckdb -c "SELECT state, count(*) FROM 'out/flows.parquet' GROUP BY ALL"
    duckdb -c "SELECT file_name, packets, tcp_retransmissions FROM 'out/capture.parquet'"

**Hive layout.** ` + "`--partition date=2026-11-21/host=web1`" + ` (or ` + "`date=2026-11-21,host=web1`" + `)
writes the tables under ` + "`DIR/date=2026-11-21/host=web1/`" + `, so the nightly outputs of many
hosts read as one table with the partition keys as columns:

    SELECT host, count(*) FROM read_parquet('out/**/flows.parquet', hive_partitioning = true) GROUP BY ALL

    -- one row per run (night and host): the run's totals
    SELECT date, host, packets, flows, tcp_retransmissions, len(warnings) AS warnings
    FROM read_parquet('out/**/capture.parquet', hive_partitioning = true)
    WHERE file_index = 0 ORDER BY ALL

Keys are letters, digits and ` + "`_`" + `; values letters, digits, ` + "`.`, `_` and `-`" + `. A key may not
be the name of a column of any table (the reader would silently replace the column with
the partition value), which is why the HTTP Host header is ` + "`http_host`" + ` here.

Partitions written by different pcapx versions may differ by a column added since (the
column list below says which): read them together with ` + "`union_by_name = true`" + `, and the
older rows hold NULL there. ` + "`pcapx report`" + ` replays such older tables too.

**Times** are Parquet ` + "`TIMESTAMP(NANOS)`" + ` holding UTC (nanoseconds since 1970-01-01 UTC,
the capture's own resolution kept to the nanosecond). The files leave the
` + "`isAdjustedToUTC`" + ` flag **false** on purpose: with the flag set, DuckDB reads the column as
` + "`TIMESTAMP WITH TIME ZONE`" + `, which has microsecond precision, and drops the last three digits
of every time; without it DuckDB reads ` + "`TIMESTAMP_NS`" + ` and keeps them. Read the values as
UTC (` + "`timezone('UTC', first)`" + ` gives a ` + "`TIMESTAMPTZ`" + ` when you want one;
` + "`epoch_ns(first)`" + ` the exact integer). Durations are ` + "`DOUBLE`" + ` in the unit their name says
(` + "`_s`, `_ms`" + `), as in the JSON.

**Encoding.** zstd compression (its fastest level: the tables are written while the capture
is read), dictionary encoding for string columns except the few that hold a distinct value
per row (marked PLAIN below), plain numbers, column statistics (min/max, so DuckDB skips row
groups and pages by time), 16 KiB pages, row groups of at most 65,536 rows (held compressed
in memory until full, then written out: memory does not grow with the number of rows), a
REQUIRED schema root, and REQUIRED columns except those marked NULL below. Lists
(` + "`answer_addrs`, `alpn`, `offered_versions`, `evidence`, `top_talkers`, ..." + `) are Parquet LISTs; a missing list is
empty, never NULL. Strings are UTF-8: a byte that is not valid UTF-8 in a capture's DNS
name or HTTP target becomes the character of its value (0xFF is U+00FF, ÿ), as the JSON
writes it (` + "`\\u00ff`" + `).

**Complete or absent.** Each file is written under a temporary name in the same directory
(` + "`.flows.parquet.tmp-*`" + `, which no ` + "`*.parquet`" + ` glob matches), and the tables and
` + "`report.html`" + ` of a run are renamed, replacing the previous run's, only once every one of
them is complete. A run that fails or is interrupted (the disk filling up while the page is
written, say) leaves the previous run's tables and page as they were; it never leaves a file
that looks whole but is not, nor the tables of one run beside the page of another. Stopped by SIGINT
(Ctrl-C) or SIGTERM, it removes its temporary files before it exits; killed outright
(SIGKILL, a crash), it cannot, and the next run into DIR removes them (only files so
named that no running pcapx holds a lock on). pcapx writes, replaces and removes only
these eight files, ` + "`report.html`" + ` and their temporaries: other files in DIR are left alone.

**Joins.** Every table about a flow carries its ` + "`community_id`" + ` (Community ID v1, seed 0), so
the tables join with each other and with Zeek, Suricata and Arkime logs:

    SELECT f.src_addr, f.dst_addr, d.qname, d.rcode_name
    FROM 'out/dns.parquet' d JOIN 'out/flows.parquet' f USING (community_id)

` + "`file_index`" + ` in capture numbers the run's input files: flows' ` + "`first_file`" + `, findings'
` + "`evidence.file`" + ` and the ` + "`*_file`" + ` columns of dns, http and tls point there.

The columns of the flow a record belongs to (` + "`community_id`, `proto`, `src_addr`, `src_port`,\n`dst_addr`, `dst_port`, `stream`" + `) are client → server (Zeek's originator → responder).
`
