package parquet

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// TestReplayWithoutAddedColumn: tables written before a column was added
// (addedBy) replay, the field zero; a column not so marked is still
// required.
func TestReplayWithoutAddedColumn(t *testing.T) {
	dir := t.TempDir()
	_, want, err := liveRun(t, dir, Options{}, filepath.Join(capturesDir(t), "demo.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	flowsFile := filepath.Join(dir, "flows.parquet")
	dropColumn(t, flowsFile, "continues")
	got, err := Replay(dir, nil)
	if err != nil {
		t.Fatalf("flows table without continues: %v", err)
	}
	if got.TCP != want.TCP || got.Capture.Flows != want.Capture.Flows {
		t.Errorf("replayed tcp %+v flows %d, want %+v %d", got.TCP, got.Capture.Flows, want.TCP, want.Capture.Flows)
	}
	dropColumn(t, flowsFile, "client_guessed")
	if _, err := Replay(dir, nil); err == nil {
		t.Error("a flows table without client_guessed replayed")
	}
}

// dropColumn rewrites a Parquet file without one of its columns, as a
// pcapx that did not write it yet would have.
func dropColumn(t *testing.T, path, name string) {
	t.Helper()
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	rdr.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	var fields []arrow.Field
	var cols []arrow.Column
	for i := range int(tbl.NumCols()) {
		if tbl.Schema().Field(i).Name == name {
			continue
		}
		fields = append(fields, tbl.Schema().Field(i))
		cols = append(cols, *tbl.Column(i))
	}
	out := array.NewTable(arrow.NewSchema(fields, nil), cols, tbl.NumRows())
	defer out.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pqarrow.WriteTable(out, f, 1024, pq.NewWriterProperties(schemaProps()...), pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
}
