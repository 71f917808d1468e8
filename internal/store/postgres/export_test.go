package postgres

import (
	"io/fs"

	"github.com/pressly/goose/v3"

	"github.com/tendhq/tend/internal/store/sqlstore"
)

// Migrations are the migrations, for tests that stop part way.
func Migrations() fs.FS {
	m, _ := fs.Sub(files, "sql/migrations")
	return m
}

// GoMigrations are the migrations written in Go, for those tests' goose
// provider.
func GoMigrations() []*goose.Migration { return sqlstore.GoMigrations(dialect()) }

// Queries are the named queries of queries.sql.
func Queries() map[string]string {
	q, err := sqlstore.LoadQueries(dialect().Queries)
	if err != nil {
		panic(err)
	}
	return q
}
