package importer

import (
	"github.com/tendhq/tend/internal/account"
)

// traitRow is one account's trait values, ready to write.
type traitRow struct {
	line   int
	writes []account.TraitWrite
}

// traits imports trait values for existing accounts, found by external_id.
// Each value is coerced by its definition; the store records a history
// entry only for a value that changes.
func (im *importer) traits(rows []row) error {
	ext := im.externalIDs(rows, "external_id", "it names the account the traits belong to")
	accts, err := im.resolveExternalIDs(nonEmpty(ext))
	if err != nil {
		return err
	}
	good := make([]traitRow, 0, len(rows))
	for i, r := range rows {
		if ext[i] == "" {
			continue
		}
		id, ok := accts[ext[i]]
		if !ok {
			im.fail(r.line, "external_id", "no account has the external id %q; import the accounts first", ext[i])
			continue
		}
		before := len(im.rep.Invalid)
		ws := im.traitWrites(r, id)
		if len(im.rep.Invalid) == before {
			good = append(good, traitRow{line: r.line, writes: ws})
		}
	}
	if ok, err := im.proceed(); !ok {
		return err
	}

	im.progress(0, len(good))
	for done, chunk := 0, []traitRow(nil); done < len(good); done += len(chunk) {
		chunk = good[done:min(done+im.chunk(), len(good))]
		var ws []account.TraitWrite
		for _, tr := range chunk {
			ws = append(ws, tr.writes...)
		}
		changes, err := im.setTraits(ws)
		im.rep.TraitsChanged += len(changes)
		if err != nil {
			return im.writeFailed(err, nil, done)
		}
		changed := map[int64]bool{}
		for _, c := range changes {
			changed[c.AccountID] = true
		}
		im.rep.Updated += len(changed)
		im.rep.Unchanged += len(chunk) - len(changed)
		im.progress(done+len(chunk), len(good))
	}
	return nil
}
