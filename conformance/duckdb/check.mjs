// Independent reader check for pcapx's Parquet tables.
//
//   node check.mjs DIR...         reads DIR/<table>.parquet, for each DIR
//   node check.mjs --hive DIR...  reads DIR/**/<table>.parquet as one table
//                                 with hive_partitioning = true (the
//                                 partition keys become columns)
//
// For each table (flows, findings, dns, http, tls, icmp, capture, timeline)
// it asks DuckDB for
// the columns and their types, the row count, and per column an aggregate
// a second program can recompute from pcapx's JSON output: sums of
// numbers, counts of true, total bytes and min/max of strings, total
// list lengths,
// and min/max of timestamps as integer nanoseconds since the epoch. It
// prints one JSON document on stdout:
//
//   {"duckdb_version": "v1.5.6", "results": [{"dir": DIR, "tables": {
//     "flows": {"rows": "12", "columns": [{"name": "first", "type": "TIMESTAMP_NS"}, ...],
//               "aggregates": {"first": {"count": "12", "min": "...", "max": "..."}, ...}},
//     ...}}]}
//
// A table that cannot be read has {"error": "..."} instead. Every number is a string (DuckDB
// hands back 64-bit and 128-bit integers, which JSON numbers cannot hold
// exactly). The Go test report/parquet TestDuckDBConformance runs it.
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const TABLES = ['flows', 'findings', 'dns', 'http', 'tls', 'icmp', 'capture', 'timeline'];

const args = process.argv.slice(2);
const hive = args[0] === '--hive';
const dirs = hive ? args.slice(1) : args;
if (dirs.length === 0) {
  console.error('usage: node check.mjs [--hive] DIR...');
  process.exit(2);
}

const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;
const ident = (s) => `"${String(s).replaceAll('"', '""')}"`;

// aggregates returns the SQL expressions for one column, by DuckDB type.
function aggregates(name, type) {
  const c = ident(name);
  const out = { count: `count(${c})::VARCHAR` };
  if (['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT'].includes(type)) {
    out.sum = `sum(${c})::VARCHAR`;
  } else if (type === 'DOUBLE' || type === 'FLOAT') {
    // Summed in a fixed order, so the result does not depend on threads.
    out.sum = `fsum(${c})::VARCHAR`;
  } else if (type === 'BOOLEAN') {
    out.sum = `count_if(${c})::VARCHAR`;
  } else if (type === 'VARCHAR') {
    out.sum = `sum(strlen(${c}))::VARCHAR`;
    out.min = `min(${c})`;
    out.max = `max(${c})`;
  } else if (type.endsWith('[]')) {
    out.sum = `sum(len(${c}))::VARCHAR`;
  } else if (type.startsWith('TIMESTAMP')) {
    out.min = `epoch_ns(min(${c}))::VARCHAR`;
    out.max = `epoch_ns(max(${c}))::VARCHAR`;
  } else if (!type.startsWith('STRUCT')) {
    // Anything else (a Hive partition column read as DATE, say).
    out.min = `min(${c})::VARCHAR`;
    out.max = `max(${c})::VARCHAR`;
  }
  return out;
}

const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const version = (await conn.runAndReadAll('SELECT version() AS v')).getRowObjects()[0].v;
const result = { duckdb_version: version, results: [] };

for (const dir of dirs) {
  result.results.push({ dir, tables: await readTables(dir) });
}
process.stdout.write(JSON.stringify(result, null, 1) + '\n');

async function readTables(dir) {
  const tables = {};
  for (const table of TABLES) {
    let source;
    if (hive) {
      source = `read_parquet(${lit(join(dir, '**', table + '.parquet'))}, hive_partitioning = true)`;
    } else {
      const path = join(dir, table + '.parquet');
      if (!existsSync(path)) {
        tables[table] = { error: 'missing' };
        continue;
      }
      source = `read_parquet(${lit(path)}, hive_partitioning = false)`;
    }
    try {
      tables[table] = await readTable(source);
    } catch (err) {
      tables[table] = { error: String(err && err.message ? err.message : err) };
    }
  }
  return tables;
}

async function readTable(source) {
  const desc = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`)).getRowObjects();
  const columns = desc.map((r) => ({ name: r.column_name, type: r.column_type }));
  const exprs = ['count(*)::VARCHAR AS "rows"'];
  const keys = [];
  for (const col of columns) {
    for (const [agg, sql] of Object.entries(aggregates(col.name, col.type))) {
      keys.push([col.name, agg]);
      exprs.push(`${sql} AS ${ident('a' + keys.length)}`);
    }
  }
  const row = (await conn.runAndReadAll(`SELECT ${exprs.join(', ')} FROM ${source}`)).getRowObjects()[0];
  const aggregatesByColumn = {};
  keys.forEach(([name, agg], i) => {
    (aggregatesByColumn[name] ??= {})[agg] = row['a' + (i + 1)];
  });
  return { rows: row.rows, columns, aggregates: aggregatesByColumn };
}
