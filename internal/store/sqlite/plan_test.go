package sqlite

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/store/sqlstore"
)

// TestActionQueriesUseTheirIndexes: the runners' and the settings page's
// reads of actions by status go through the partial index of that status
// (migration 0010), in the index's order, so that neither scans every
// action ever recorded nor sorts them.
func TestActionQueriesUseTheirIndexes(t *testing.T) {
	ctx := context.Background()
	db, w, err := openMemory(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	queries, err := sqlstore.LoadQueries(dialect().Queries)
	if err != nil {
		t.Fatal(err)
	}
	for name, index := range map[string]string{
		"DueActionIDs":         "playbook_actions_pending",
		"ExpiredActionIDs":     "playbook_actions_running",
		"LastActionErrors":     "playbook_actions_failed",
		"CancelPendingActions": "playbook_actions_pending",
	} {
		q, ok := queries[name]
		if !ok {
			t.Fatalf("no query %s in queries.sql", name)
		}
		args := make([]any, maxParam(q))
		for i := range args {
			args[i] = int64(1)
		}
		rows, err := w.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		got := strings.Join(plan, "; ")
		if !strings.Contains(got, "USING INDEX "+index) && !strings.Contains(got, "USING COVERING INDEX "+index) {
			t.Errorf("%s does not use %s: %s", name, index, got)
		}
		if strings.Contains(got, "TEMP B-TREE") {
			t.Errorf("%s sorts: %s", name, got)
		}
	}
}

var param = regexp.MustCompile(`\$([0-9]+)`)

// maxParam returns the largest $N in q.
func maxParam(q string) int {
	n := 0
	for _, m := range param.FindAllStringSubmatch(q, -1) {
		k, _ := strconv.Atoi(m[1])
		n = max(n, k)
	}
	return n
}
