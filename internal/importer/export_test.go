package importer

// SetChunk makes an import write n rows per bulk call, so that a test can
// see several chunks without thousands of rows.
func SetChunk(o *Options, n int) { o.chunk = n }
