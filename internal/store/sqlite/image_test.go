package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tendhq/tend/internal/account"
)

// TestSchemaImageIsTheMigratedSchema: a database started from the schema
// image, in memory or as a new file, has exactly the schema and migration
// versions of one every migration ran on, and a file that exists is not
// replaced.
func TestSchemaImageIsTheMigratedSchema(t *testing.T) {
	ctx := context.Background()
	schema := func(db *sql.DB) []string {
		t.Helper()
		rows, err := db.QueryContext(ctx, `SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master ORDER BY type, name`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		vs, err := db.QueryContext(ctx, `SELECT 'version ' || version_id || ' ' || is_applied FROM goose_db_version ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer vs.Close()
		for vs.Next() {
			var s string
			if err := vs.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	migrated, w, err := openMemory(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer migrated.Close()
	want := schema(w)
	if len(want) < 20 {
		t.Fatalf("the migrated schema has only %d objects and versions: %v", len(want), want)
	}

	img, err := schemaImage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mem, mw, err := openMemory(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if got := schema(mw); !slices.Equal(got, want) {
		t.Errorf("in memory from the image:\n%v\nwant\n%v", got, want)
	}

	path := filepath.Join(t.TempDir(), "tend.db")
	file, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	acme := account.Account{Name: "Acme"}
	if err := file.CreateAccount(ctx, &acme, account.System("test", account.SourceManual)); err != nil {
		t.Fatal(err)
	}
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if got := schema(raw); !slices.Equal(got, want) {
		t.Errorf("a new file from the image:\n%v\nwant\n%v", got, want)
	}
	var mode string
	if err := raw.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode %q (%v), want wal", mode, err)
	}
	// Opened again, the file is the same database, not a new image.
	again, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got, err := again.GetAccount(ctx, acme.ID); err != nil || got.Name != "Acme" {
		t.Errorf("after reopening: %+v, %v", got, err)
	}
}
