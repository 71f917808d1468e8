package postgres

import "io/fs"

// Migrations are the migrations, for tests that stop part way.
func Migrations() fs.FS {
	m, _ := fs.Sub(files, "sql/migrations")
	return m
}
