package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math"
	"sync"

	"github.com/golang/snappy"
	"github.com/pressly/goose/v3"
)

// A run's bodies column holds its events' bodies back to back, either as
// they are or packed: the byte packedBodies, then a Snappy block of them.
// No JSON text begins with that byte (a control character), so a column
// written before packing (or left as is because packing would not make it
// smaller) reads as it always did. A run is packed when that makes it
// smaller, or when its first body begins with the byte itself (bodies are
// stored as given, and a caller may store any bytes).
//
// Packing is for the write path: a request's JSON shrinks about 4.5 times
// (a batch of 100 of the benchmark's events, 30 KB, to 6.7 KB, in 12 µs),
// and every copy of it after that shrinks with it: the run, the driver's
// encoding of the statement, the wire, and PostgreSQL's TOAST chunks and
// WAL (docs/ingestion.md).
const packedBodies = 0x01

// scratch holds the buffers a run is encoded and packed in (encodeRun,
// packBodies), so that its bodies cost one allocation of their packed size.
var scratch = sync.Pool{New: func() any { return new([]byte) }}

// packBodies returns raw packed, or a copy of raw when packing would not
// make it smaller. raw is not kept.
func packBodies(raw []byte) []byte {
	if len(raw) == 0 {
		return []byte{}
	}
	n := snappy.MaxEncodedLen(len(raw))
	if n < 0 || n >= math.MaxInt32 {
		// Over 4 GB: not a run a request or an import makes. Snappy cannot
		// pack it; stored as is, it reads back as is unless it begins
		// with packedBodies, which no JSON does.
		return bytes.Clone(raw)
	}
	bp := scratch.Get().(*[]byte)
	defer scratch.Put(bp)
	if cap(*bp) < 1+n {
		*bp = make([]byte, 1+n)
	}
	buf := (*bp)[:1+n]
	buf[0] = packedBodies
	packed := buf[:1+len(snappy.Encode(buf[1:], raw))]
	if len(packed) >= len(raw) && raw[0] != packedBodies {
		return bytes.Clone(raw)
	}
	return bytes.Clone(packed)
}

// unpackBodies returns a bodies column's bodies back to back: b itself
// when it is not packed.
func unpackBodies(b []byte) ([]byte, error) {
	if len(b) == 0 || b[0] != packedBodies {
		return b, nil
	}
	raw, err := snappy.Decode(nil, b[1:])
	if err != nil {
		return nil, fmt.Errorf("packed bodies: %w", err)
	}
	return raw, nil
}

// packedBodiesMigration is the migration, at version v, from which runs
// may be stored packed. Up changes nothing: the columns written before it
// read as they are. Down unpacks every packed run, so that the store
// before it, which reads bodies as they are, finds them as it wrote them.
func packedBodiesMigration(v int64) *goose.Migration {
	return goose.NewGoMigration(v, &goose.GoFunc{Mode: goose.TransactionEnabled}, &goose.GoFunc{RunTx: unpackAll})
}

// unpackAll unpacks every packed run, a page of runs at a time (a
// driver's connection reads one result at a time, so the updates wait for
// their page).
func unpackAll(ctx context.Context, tx *sql.Tx) error {
	const page = 256
	after := int64(math.MinInt64)
	for {
		type packed struct {
			first  int64
			bodies []byte
		}
		var runs []packed
		rows, err := tx.QueryContext(ctx, `SELECT first_seq, bodies FROM usage_batches
			WHERE first_seq > $1 AND substr(bodies, 1, 1) = $2 ORDER BY first_seq LIMIT $3`, after, []byte{packedBodies}, page)
		if err != nil {
			return fmt.Errorf("reading packed runs: %w", err)
		}
		for rows.Next() {
			var r packed
			if err := rows.Scan(&r.first, &r.bodies); err != nil {
				rows.Close()
				return fmt.Errorf("reading packed runs: %w", err)
			}
			runs = append(runs, r)
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("reading packed runs: %w", err)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("reading packed runs: %w", err)
		}
		for _, r := range runs {
			raw, err := unpackBodies(r.bodies)
			if err != nil {
				return fmt.Errorf("usage_batches row %d: %w", r.first, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE usage_batches SET bodies = $1 WHERE first_seq = $2`, raw, r.first); err != nil {
				return fmt.Errorf("unpacking usage_batches row %d: %w", r.first, err)
			}
			after = r.first
		}
		if len(runs) < page {
			return nil
		}
	}
}
