package sqlite_test

import (
	"context"
	"testing"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/store/sqlite"
)

// SQLite's lower() folds only ASCII; search folds all of Unicode, so a
// German or French name is found whatever case it is typed in.
func TestSearchFoldsUnicodeCase(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, a := range []account.Account{{Name: "Ärzte Straße GmbH"}, {Name: "Évian Eaux", Domain: "évian.example"}, {Name: "Acme"}} {
		if err := st.CreateAccount(ctx, &a, account.System("test", "")); err != nil {
			t.Fatal(err)
		}
	}
	for q, want := range map[string]string{"ärzte": "Ärzte Straße GmbH", "ÄRZTE": "Ärzte Straße GmbH", "STRASSE": "", "évian": "Évian Eaux",
		"ÉVIAN.EXAMPLE": "Évian Eaux"} {
		page, err := st.ListAccounts(ctx, account.Filter{Query: q})
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if len(page.Accounts) == 1 {
			got = page.Accounts[0].Name
		}
		if got != want || len(page.Accounts) > 1 || page.Total != len(page.Accounts) {
			t.Errorf("search %q found %d (total %d) %q, want %q", q, len(page.Accounts), page.Total, got, want)
		}
	}
}
